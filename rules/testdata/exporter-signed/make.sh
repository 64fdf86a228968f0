#!/bin/sh
# Makes the exporter-signed certificate of origin the exporter-signed
# examples carry (CL: base64 in JSON; MX: inside <firmaExportador>), as
# an exporter's own software would: ALADI's exporter-signed COD (Envelope →
# CertOrigin → CODEH → CODExporter → COD + ds:Signature), the COD of the
# minimal example, signed with RSA-SHA1 and C14N 1.0 *with comments* like
# the certificates of origin in circulation, namespaces declared on the
# Envelope under ALADI's prefixes (ns1, ns2) so that the inclusive C14N
# signature also covers them. The exporter's certificate and its CA are
# development ones, valid for a century; the key is thrown away.
#
#   sh rules/testdata/exporter-signed/make.sh CL    # or MX
#
# Needs openssl, xmlsec1 and python3. Writes signed-CC.xml and ca.pem here;
# then run `vucelink rules test --update rules` and
# `go test ./rules/ -run TestCOD_InboundExamples -update`.
set -eu
cc=$1
here=$(cd "$(dirname "$0")" && pwd)
rules=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$here/ca.pem" ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/C=CL/O=Autoridad Certificadora de Ejemplo/CN=AC Exportadores Ejemplo" \
		-keyout "$here/ca.key" -out "$here/ca.pem" 2>/dev/null
fi
[ -f "$here/ca.key" ] || { echo "ca.key is gone: delete ca.pem to start over" >&2; exit 1; }
openssl req -newkey rsa:2048 -nodes -subj "/C=$cc/O=Exportadora Ejemplo/CN=Exportadora Ejemplo $cc" \
	-keyout "$tmp/exporter.key" -out "$tmp/exporter.csr" 2>/dev/null
printf 'keyUsage=critical,digitalSignature,nonRepudiation\n' >"$tmp/ext"
openssl x509 -req -in "$tmp/exporter.csr" -CA "$here/ca.pem" -CAkey "$here/ca.key" -CAcreateserial \
	-days 36500 -extfile "$tmp/ext" -out "$tmp/exporter.pem" 2>/dev/null

python3 - "$rules/$cc/examples/cod/minimal.standard.xml" "$tmp/template.xml" <<'PY'
import re, sys
src, out = sys.argv[1], sys.argv[2]
s = open(src, encoding="utf-8").read()
# The certifying entity's part is not the exporter's business.
s = re.sub(r"\s*<EH>.*</CertificationEH>", "", s, flags=re.S)
s = s.replace("cod:", "ns1:").replace("xmlns:cod=", "xmlns:ns1=").replace(
    'xmlns:ns1="http://www.w3.org/2001/12/soap-envelope"',
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:ns2="http://www.w3.org/2000/09/xmldsig#" xmlns:ns1="http://www.w3.org/2001/12/soap-envelope" '
    'xsi:schemaLocation="http://www.w3.org/2001/12/soap-envelope http://www.codaladi.org/directorio/cod_ver_1.8.2.xsd"')
c14n = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
sig = ('<ns2:Signature><ns2:SignedInfo><ns2:CanonicalizationMethod Algorithm="%s"/>'
       '<ns2:SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1"/>'
       '<ns2:Reference URI="#COD"><ns2:Transforms>'
       '<ns2:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
       '<ns2:Transform Algorithm="%s"/></ns2:Transforms>'
       '<ns2:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/><ns2:DigestValue/></ns2:Reference>'
       '</ns2:SignedInfo><ns2:SignatureValue/><ns2:KeyInfo><ns2:X509Data><ns2:X509Certificate/></ns2:X509Data></ns2:KeyInfo></ns2:Signature>') % (c14n, c14n)
s = s.replace("</COD>", "</COD>\n        <!-- Firma del Exportador -->\n        " + sig, 1)
open(out, "w", encoding="utf-8").write(s)
PY

xmlsec1 --sign --privkey-pem "$tmp/exporter.key,$tmp/exporter.pem" --id-attr:id COD \
	--enabled-reference-uris same-doc --output "$here/signed-$cc.xml" "$tmp/template.xml"
xmlsec1 --verify --trusted-pem "$here/ca.pem" --id-attr:id COD --enabled-reference-uris same-doc "$here/signed-$cc.xml"
