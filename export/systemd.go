package export

import (
	"fmt"
	"path/filepath"
	"strings"
)

// systemdRestart maps devcluster's restart policies to Restart=.
func systemdRestart(policy string) string {
	switch policy {
	case "never":
		return "no"
	case "on-failure":
		return "on-failure"
	}
	return "always"
}

// renderSystemd writes one template unit per process, APP-PROCESS@.service,
// whose instance name is devcluster's instance number (app-web@2 is web.2 on
// the second port), and APP.target, which wants the formation's instances.
// Unlike foreman's export, scaling is "systemctl start app-web@4" with no new
// file. Every value from the manifest goes through systemdQuote.
func renderSystemd(c *Cluster, r *Result) error {
	commonWarnings(c, r, "systemd")
	if len(c.Balanced()) > 0 {
		r.warn("systemd", "proxy", "units run the instances only, not the balancer on %s: export haproxy or nginx for it", c.Listen)
	}
	dir := firstNonEmpty(c.opts.WorkDir, c.Dir)
	if err := unitPath("WorkingDirectory", dir); err != nil {
		return err
	}
	var wants []string
	for _, p := range c.Processes {
		unit := c.App + "-" + p.Name + "@"
		for _, in := range p.Instances {
			wants = append(wants, unit+itoa(in.Index)+".service")
		}
		body, err := c.systemdUnit(p, dir, r)
		if err != nil {
			return err
		}
		r.add(unit+".service", body)
	}
	var b strings.Builder
	b.WriteString(c.header("#"))
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n", systemdText(c.App+": every instance of the formation (devcluster export)"))
	for _, w := range wants {
		fmt.Fprintf(&b, "Wants=%s\n", w)
	}
	b.WriteString("\n[Install]\nWantedBy=multi-user.target\n")
	r.add(c.App+".target", b.String())
	return nil
}

func (c *Cluster) systemdUnit(p *Process, dir string, r *Result) (string, error) {
	if p.Rollout.Set {
		r.warn("systemd", p.Name+".reload", "systemd has no rolling restart: restart the instances of %s in waves yourself (systemctl restart %s-%s@1 …)", p.Name, c.App, p.Name)
	}
	if p.Health.Set {
		r.warn("systemd", p.Name+".health", "systemd has no HTTP or TCP check: %s is restarted when it exits (Restart=%s), not when it stops answering",
			p.Name, systemdRestart(p.Restart))
	}
	var b strings.Builder
	b.WriteString(c.header("#"))
	fmt.Fprintf(&b, "# Instance N of %s listens on port %d+N-1, as in devcluster up: %s@1 is %s.1 on %d.\n",
		p.Name, p.Port, c.App+"-"+p.Name, p.Name, p.Port)
	fmt.Fprintf(&b, "[Unit]\nDescription=%s %s.%%i\nPartOf=%s.target\nAfter=network.target\n\n", c.App, p.Name, c.App)
	b.WriteString("[Service]\nType=simple\n")
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", strings.ReplaceAll(unitDir(dir), "%", "%%"))
	for _, f := range c.opts.EnvFiles {
		// An env file of the app's directory is found under WorkingDirectory=.
		if rel, err := filepath.Rel(c.Dir, f); err == nil && filepath.IsLocal(rel) {
			f = filepath.Join(dir, rel)
		}
		if err := unitPath("EnvironmentFile", f); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "EnvironmentFile=-%s\n", strings.ReplaceAll(f, "%", "%%"))
	}
	env := append(p.BaseEnv(), EnvPair{"DEVCLUSTER_INSTANCE", "%i"}, EnvPair{"PS", p.Name + ".%i"})
	for _, e := range env { // ours: specifiers meant, not quoted away
		fmt.Fprintf(&b, "Environment=%s=%s\n", e.Key, e.Value)
	}
	fromFile := map[string]bool{}
	for _, e := range c.Env {
		fromFile[e.Key] = true
	}
	for _, e := range p.Env {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(e.Key+"="+e.Value, false))
		if fromFile[e.Key] {
			r.warn("systemd", p.Name+".env."+e.Key, "also set in an env file, and systemd lets EnvironmentFile= override Environment=: the env file's value wins, where devcluster up uses the manifest's")
		}
	}
	script := fmt.Sprintf("export PORT=$((%d + DEVCLUSTER_INSTANCE - 1)); %s", p.Port, p.ShellCommand())
	fmt.Fprintf(&b, "ExecStart=/bin/sh -c %s\n", systemdQuote(script, true))
	fmt.Fprintf(&b, "Restart=%s\nRestartSec=1s\n", systemdRestart(p.Restart))
	fmt.Fprintf(&b, "KillSignal=SIG%s\nTimeoutStopSec=%s\n", p.StopSignal, haproxyDuration(p.StopTimeout))
	return b.String(), nil
}

// unitPath refuses a path a unit file cannot hold: relative, with a control
// character that would end the line, or, for a file, ending in a backslash,
// which systemd reads as "continued on the next line" (a directory gets a
// trailing "/" instead: unitDir).
func unitPath(setting, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s=%s: systemd needs an absolute path", setting, path)
	}
	if setting != "WorkingDirectory" && strings.HasSuffix(path, `\`) {
		return fmt.Errorf("%s=%s: the path ends in \"\\\", which systemd reads as a line continued on the next one; rename the file", setting, path)
	}
	return noControl("systemd", path)
}

// unitDir writes a directory so that its line does not end in a backslash
// (systemd would join the next line to it): "dir\\/" is the same directory.
func unitDir(dir string) string {
	if strings.HasSuffix(dir, `\`) {
		return dir + "/"
	}
	return dir
}

// systemdText keeps free text (Description=) on one line with "%" literal.
func systemdText(s string) string {
	return strings.ReplaceAll(oneLine(s), "%", "%%")
}
