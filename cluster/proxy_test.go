package cluster

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/devcluster/devcluster/procfile"
)

// TestProxyConfigCopiesEveryManifestSetting: every field of procfile.ProxyConfig
// that has a proxy.Config field of the same name reaches the proxy with its value,
// and every other field is named here with where it goes, so a setting added to
// the manifest cannot be parsed and then silently ignored by up.
func TestProxyConfigCopiesEveryManifestSetting(t *testing.T) {
	t.Parallel()
	elsewhere := map[string]string{
		"Listen":          "ProxyConfig's listen (flag, manifest, default)",
		"Strategy":        "ProxyConfig's strategy (flag, manifest, default)",
		"Sticky":          "the --sticky flag, else the manifest",
		"Cookie":          "proxy.Config.CookieName",
		"Retries":         "proxy.Config.Retries, with 0 as -1",
		"Line":            "errors only",
		"DashboardPrefix": "the dashboard (Observers)",
		"DashboardOff":    "the dashboard (Observers)",
		"AccessLog":       "the access log (Observers)",
		// The certificate source: cmd's proxyTLS builds proxy.Config.TLSConfig
		// from it (the local CA, or the user's cert and key).
		"TLS":   "proxy.Config.TLSConfig, built by cmd (proxyTLS)",
		"Hosts": "cluster.AddPools (proxy.PoolConfig.Hosts)",
	}
	var pc procfile.ProxyConfig
	v := reflect.ValueOf(&pc).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(100 + i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.String:
			f.SetString("/x" + strconv.Itoa(i) + "/")
		case reflect.Slice:
			if f.Type() == reflect.TypeFor[[]string]() {
				f.Set(reflect.ValueOf([]string{"503"}))
			}
		}
	}
	got := reflect.ValueOf(ProxyConfig(&procfile.Manifest{Proxy: pc}, "127.0.0.1:1", "roundrobin", "", nil))
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if _, ok := elsewhere[name]; ok {
			continue
		}
		pf := got.FieldByName(name)
		if !pf.IsValid() {
			t.Errorf("procfile.ProxyConfig.%s has no proxy.Config field of that name: map it in ProxyConfig, or name it in this test", name)
			continue
		}
		if !reflect.DeepEqual(pf.Interface(), v.Field(i).Interface()) {
			t.Errorf("proxy.Config.%s: got %v, want the manifest's %v", name, pf.Interface(), v.Field(i).Interface())
		}
	}
}
