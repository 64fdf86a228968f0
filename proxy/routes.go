package proxy

// Route names the reverse-side route that matches method and path, or "".
func (o *Outbound) Route(method, path string) string {
	if rt := o.match("", method, path); rt != nil {
		return rt.Name
	}
	return ""
}

// ForwardRoute names the forward-side route for a request to host
// (host[:port]), or "" when none matches (the proxy then refuses it).
func (o *Outbound) ForwardRoute(host, method, path string) string {
	if host == "" {
		return ""
	}
	if rt := o.match(host, method, path); rt != nil {
		return rt.Name
	}
	return ""
}
