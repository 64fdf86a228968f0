package legacysim

import (
	"bytes"
	"encoding/xml"
)

// The hub's associated states: Australia, Canada, New Zealand and
// Singapore exchange through the IPPC ePhyto Hub, each national system in
// its own format (AU namespaced XML, CA plain XML, NZ snake_case JSON, SG
// sectioned JSON with "VALUE CODE" quantities). Their certificates carry
// the same Certificate, so a trip between an Alliance country and a hub
// member is compared field by field like any other.
var hubFormats = map[string]Format{"AU": auFormat{}, "CA": caFormat{}, "NZ": nzFormat{}, "SG": sgFormat{}}

func init() {
	for cc, f := range hubFormats {
		formats[cc] = f
	}
}

// HubCountries lists the simulated hub members, sorted.
func HubCountries() []string { return []string{"AU", "CA", "NZ", "SG"} }

// hubInboundPath is where a hub member's simulated national system
// records what it took from the hub (Server listens there).
func hubInboundPath(country string) string {
	if _, ok := hubFormats[country]; !ok {
		return ""
	}
	return "/national/" + country + "/phyto/import"
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
