package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// strict decodes one YAML document into v through JSON, refusing unknown
// fields (the API server would drop them silently, or refuse them).
func strict(doc map[string]any, v any) error {
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

type manifest struct {
	kinds map[string]int
	deps  []*appsv1.Deployment
	pdbs  []*policyv1.PodDisruptionBudget
	cms   map[string]bool
	secs  map[string]bool
}

func load(t *testing.T, path string) *manifest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := &manifest{kinds: map[string]int{}, cms: map[string]bool{}, secs: map[string]bool{}}
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return m
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc == nil {
			continue
		}
		kind, _ := doc["kind"].(string)
		m.kinds[kind]++
		var obj any
		switch kind {
		case "Deployment":
			d := &appsv1.Deployment{}
			m.deps, obj = append(m.deps, d), d
		case "PodDisruptionBudget":
			p := &policyv1.PodDisruptionBudget{}
			m.pdbs, obj = append(m.pdbs, p), p
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			obj = c
			defer func() { m.cms[c.Name] = true }()
		case "Secret":
			s := &corev1.Secret{}
			obj = s
			defer func() { m.secs[s.Name] = true }()
		case "Service":
			obj = &corev1.Service{}
		case "PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		default:
			t.Fatalf("%s: kind %q not checked by this test", path, kind)
		}
		if err := strict(doc, obj); err != nil {
			t.Errorf("%s: %s: %v", path, kind, err)
		}
	}
}

func TestManifests_StrictAndComplete(t *testing.T) {
	for _, shape := range []string{"sidecar", "replicas"} {
		t.Run(shape, func(t *testing.T) {
			m := load(t, filepath.Join("kubernetes", shape, "vucelink.yaml"))
			if len(m.deps) != 1 || len(m.pdbs) != 1 {
				t.Fatalf("want one Deployment and one PodDisruptionBudget, got %v", m.kinds)
			}
			d := m.deps[0]
			if shape == "replicas" && (d.Spec.Replicas == nil || *d.Spec.Replicas < 2) {
				t.Error("replicas: fewer than two")
			}
			if shape == "sidecar" && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Error("sidecar on SQLite: a rolling update would start a second process on the store")
			}
			var vl *corev1.Container
			for i, c := range d.Spec.Template.Spec.Containers {
				if c.Name == "vucelink" {
					vl = &d.Spec.Template.Spec.Containers[i]
				}
			}
			if vl == nil {
				t.Fatal("no vucelink container")
			}
			if shape == "sidecar" && len(d.Spec.Template.Spec.Containers) < 2 {
				t.Error("sidecar: the legacy container is missing from the pod")
			}
			for name, p := range map[string]*corev1.Probe{"liveness": vl.LivenessProbe, "readiness": vl.ReadinessProbe} {
				if p == nil || p.Exec == nil || !strings.Contains(strings.Join(p.Exec.Command, " "), "vucelink healthcheck") {
					t.Errorf("%s probe: not vucelink healthcheck", name)
				}
			}
			if rp := vl.ReadinessProbe; rp != nil && rp.Exec != nil && !strings.Contains(strings.Join(rp.Exec.Command, " "), "--ready") {
				t.Error("readiness probe does not ask /readyz (--ready)")
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, vm := range vl.VolumeMounts {
				mounts[vm.MountPath] = vm
			}
			if vm, ok := mounts["/etc/vucelink/rules"]; !ok || vm.SubPath != "" {
				t.Error("rules must be mounted as a directory without subPath (updates arrive by symlink swap)")
			}
			if _, ok := mounts["/var/lib/vucelink"]; !ok {
				t.Error("no writable state volume at /var/lib/vucelink")
			}
			for _, v := range d.Spec.Template.Spec.Volumes {
				switch {
				case v.Name == "rules" && (v.ConfigMap == nil || !m.cms[v.ConfigMap.Name]):
					t.Error("rules volume is not a ConfigMap of this manifest")
				case v.Name == "keys" && (v.Secret == nil || !m.secs[v.Secret.SecretName]):
					t.Error("keys volume is not a Secret of this manifest")
				}
			}
			if sc := vl.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Error("vucelink's root filesystem is not read-only")
			}
			sel := m.pdbs[0].Spec.Selector
			if sel == nil || sel.MatchLabels["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
				t.Error("the PodDisruptionBudget does not select the pods")
			}
		})
	}
}

// The compose file is YAML with the services a two-country lab needs.
func TestCompose_TwoCountries(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("compose", "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Build       any            `yaml:"build"`
			Command     []string       `yaml:"command"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			Volumes     []string       `yaml:"volumes"`
			Environment map[string]string
			DependsOn   any  `yaml:"depends_on"`
			ReadOnly    bool `yaml:"read_only"`
			Ports       []string
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "vucelink-cl-1", "vucelink-cl-2", "vucelink-mx", "lb-cl"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %s", name)
		}
	}
	for name, s := range c.Services {
		if strings.HasPrefix(name, "vucelink-") && !s.ReadOnly {
			t.Errorf("%s: not read_only", name)
		}
	}
}
