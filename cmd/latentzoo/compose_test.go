package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeCommand is "docker compose" where the plugin runs, else Debian's docker-compose,
// or nil where neither exists.
func composeCommand() []string {
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	return nil
}

// TestComposeProfiles validates docker-compose.yml and each of its profiles with compose's
// own checker (no engine needed), and requires each profile's services; a broken file
// must fail the same check.
func TestComposeProfiles(t *testing.T) {
	compose := composeCommand()
	if compose == nil {
		t.Skip("neither docker compose nor docker-compose is installed")
	}
	file, err := filepath.Abs("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	run := func(file string, args ...string) (string, error) {
		cmd := exec.Command(compose[0], append(append(compose[1:], "-f", file), args...)...)
		cmd.Dir = filepath.Dir(file)
		cmd.Env = append(os.Environ(), "LATENTZOO_ADMIN_TOKEN=test")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, profile := range []string{"", "scale", "gpu"} {
		args := []string{"config", "-q"}
		if profile != "" {
			args = append([]string{"--profile", profile}, args...)
		}
		if out, err := run(file, args...); err != nil {
			t.Errorf("profile %q: config: %v\n%s", profile, err, out)
		}
	}
	out, err := run(file, "--profile", "scale", "--profile", "gpu", "config")
	if err != nil {
		t.Fatalf("config: %v\n%s", err, out)
	}
	var cfg struct {
		Services map[string]struct {
			Profiles    []string       `yaml:"profiles"`
			Command     []string       `yaml:"command"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			Deploy      struct {
				Replicas  int `yaml:"replicas"`
				Resources struct {
					Reservations struct {
						Devices []struct {
							Driver       string   `yaml:"driver"`
							Capabilities []string `yaml:"capabilities"`
						} `yaml:"devices"`
					} `yaml:"reservations"`
				} `yaml:"resources"`
			} `yaml:"deploy"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatal(err)
	}
	byProfile := map[string][]string{}
	for name, svc := range cfg.Services {
		p := strings.Join(svc.Profiles, ",")
		byProfile[p] = append(byProfile[p], name)
	}
	for p, want := range map[string][]string{"": {"latentzoo", "registry"}, "scale": {"balancer", "latentzoo-replica"}, "gpu": {"latentzoo-gpu"}} {
		got := byProfile[p]
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("profile %q has services %v, want %v", p, got, want)
		}
	}
	replica, gpu := cfg.Services["latentzoo-replica"], cfg.Services["latentzoo-gpu"]
	if replica.Deploy.Replicas < 2 || !strings.Contains(fmt.Sprint(replica.Healthcheck["test"]), "/readyz") {
		t.Errorf("scale: %d replicas, health check %v; want several, checked on /readyz", replica.Deploy.Replicas, replica.Healthcheck["test"])
	}
	devs := gpu.Deploy.Resources.Reservations.Devices
	if len(devs) != 1 || devs[0].Driver != "nvidia" || !slices.Contains(devs[0].Capabilities, "gpu") || !slices.Contains(gpu.Command, "cuda") {
		t.Errorf("gpu: devices %+v, command %v; want an NVIDIA GPU reserved and --device cuda", devs, gpu.Command)
	}
	broken := filepath.Join(t.TempDir(), "docker-compose.yml")
	if err := os.WriteFile(broken, []byte("services:\n  x:\n    image: 3\n    ports: nope\n    deploy: {replicas: many}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(broken, "config", "-q"); err == nil {
		t.Errorf("a broken compose file passed the check:\n%s", out)
	}
}
