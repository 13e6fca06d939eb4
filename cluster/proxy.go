package cluster

import (
	"io"

	"github.com/devcluster/devcluster/procfile"
	"github.com/devcluster/devcluster/proxy"
)

// AddPools gives px a pool for every balanced process of m, with its hosts of
// proxy.hosts. A process named there without a prefix of its own is reached by
// its hosts only, so that several processes can have hosts without claiming
// the same prefix "/".
func AddPools(px *proxy.Proxy, m *procfile.Manifest) error {
	for _, proc := range m.Processes {
		if !m.IsBalanced(proc) {
			continue
		}
		pc := proxy.PoolConfig{
			Process: proc.Name,
			Prefix:  proc.Prefix,
			Hosts:   HostsOf(m, proc.Name),
			MaxConn: proc.MaxConn,
			Health: proxy.HealthConfig{
				Path:     proc.Health.Path,
				Interval: proc.Health.Interval,
				Timeout:  proc.Health.Timeout,
				Rise:     proc.Health.Rise,
				Fall:     proc.Health.Fall,
			},
		}
		pc.Weight = proc.Weight
		if err := px.AddPool(pc); err != nil {
			return err
		}
	}
	return nil
}

// ProxyConfig is the proxy's configuration from the manifest's proxy: section and
// the flags (listen, strategy: resolved from flag, manifest and default; sticky:
// the --sticky flag, "" for the manifest's); TestProxyConfigCopiesEveryManifestSetting
// keeps it complete.
func ProxyConfig(m *procfile.Manifest, listen, strategy, sticky string, log io.Writer) proxy.Config {
	if sticky == "" {
		sticky = m.Proxy.Sticky
	}
	// The limits and timeouts are copied as they are: procfile's zero is "not
	// written" and its Off (-1) "turned off", which is what proxy.Config's zero
	// (the default) and negative values mean.
	cfg := proxy.Config{
		Listen:             listen,
		Strategy:           strategy,
		Sticky:             sticky,
		CookieName:         m.Proxy.Cookie,
		ConnectTimeout:     m.Proxy.ConnectTimeout,
		ResponseTimeout:    m.Proxy.ResponseTimeout,
		RetryOn:            m.Proxy.RetryOn,
		MaxConn:            m.Proxy.MaxConn,
		IdleTimeout:        m.Proxy.IdleTimeout,
		BodyTimeout:        m.Proxy.BodyTimeout,
		ClientWriteTimeout: m.Proxy.ClientWriteTimeout,
		StallTimeout:       m.Proxy.StallTimeout,
		MaxRequestLine:     m.Proxy.MaxRequestLine,
		MaxHeaderBytes:     m.Proxy.MaxHeaderBytes,
		MaxHeaderFields:    m.Proxy.MaxHeaderFields,
		FaultHeaders:       m.Proxy.FaultHeaders,
		Seed:               m.Proxy.Seed,
		HTTPSListen:        m.Proxy.HTTPSListen,
		RedirectHTTP:       m.Proxy.RedirectHTTP,
		Log:                log,
	}
	if m.Proxy.Retries != nil {
		cfg.Retries = *m.Proxy.Retries
		if cfg.Retries == 0 {
			cfg.Retries = -1
		}
	}
	return cfg
}
