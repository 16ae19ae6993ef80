package zoo

import (
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	long := strings.Repeat("a", 64)
	good := []struct {
		in   string
		want Name
	}{
		{"vae/fashion-mnist:v1", Name{"vae", "fashion-mnist", "v1"}},
		{"dcvae/fashion-mnist", Name{"dcvae", "fashion-mnist", DefaultTag}},
		{"a/b:c", Name{"a", "b", "c"}},
		{"sphere_vae/my.faces:2024-01-02", Name{"sphere_vae", "my.faces", "2024-01-02"}},
		{"0/1:2", Name{"0", "1", "2"}},
		{long + "/" + long + ":" + long, Name{long, long, long}},
	}
	for _, tt := range good {
		got, err := ParseName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseName(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if again, err := ParseName(got.String()); err != nil || again != got {
			t.Errorf("ParseName(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
	bad := []string{
		"",
		"vae",
		"vae/",
		"/fashion-mnist",
		"/abs/path",
		"a/b/c",
		"a/b/c:v1",
		"vae/fashion-mnist:",
		"vae/fashion-mnist:v1:v2",
		"vae/fashion-mnist:v1/x",
		"Vae/fashion-mnist",
		"vae/Fashion-mnist",
		"vae/fashion-mnist:V1",
		"../etc/passwd",
		"vae/..",
		"vae/..:v1",
		"vae/a..b",
		"vae/x:..",
		"vae/x:v1..2",
		"vae/.hidden",
		"vae/-x",
		"vae/_x",
		"vae/x:-v1",
		"vae/fashion mnist",
		`vae\x/y`,
		"vae//x",
		"vaé/x",
		"vae/x\x00",
		long + "a/x",
		"vae/x:" + long + "a",
	}
	for _, in := range bad {
		if got, err := ParseName(in); err == nil {
			t.Errorf("ParseName(%q) = %+v, want an error", in, got)
		}
	}
}

func TestValidateDigest(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		in string
		ok bool
	}{
		{"sha256:" + hex64, true},
		{DigestOf([]byte("latentzoo")), true},
		{"sha256:" + strings.ToUpper(hex64), false},
		{"sha256:" + hex64[:63], false},
		{"sha256:" + hex64 + "0", false},
		{"sha256:" + hex64[:63] + "g", false},
		{"sha512:" + hex64, false},
		{hex64, false},
		{"sha256:" + hex64 + "\n", false},
		{"sha256:../../" + hex64[6:], false},
		{"", false},
	}
	for _, tt := range tests {
		if err := ValidateDigest(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateDigest(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
	if got, want := DigestOf(nil), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("DigestOf(nil) = %s, want %s", got, want)
	}
}

func TestValidateFilePath(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"encoder.onnx", true},
		{"README.md", true},
		{"attributes/smile.bin", true},
		{"_private/x", true},
		{"manifest.json", false},
		{"", false},
		{"/abs", false},
		{"../up", false},
		{"a/../b", false},
		{"./a", false},
		{".hidden", false},
		{"a//b", false},
		{"a/", false},
		{`a\b`, false},
		{"-rf", false},
		{"a b", false},
		{strings.Repeat("a", 256), false},
	}
	for _, tt := range tests {
		if err := validateFilePath(tt.in); (err == nil) != tt.ok {
			t.Errorf("validateFilePath(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestCompareTags(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"v1", "v2", -1},
		{"v2", "v10", -1},
		{"v10", "v9", 1},
		{"1.2", "1.10", -1},
		{"v1", "v1.1", -1},
		{"v1", "v1", 0},
		{"v01", "v1", -1}, // equal as numbers: bytewise
		{"a", "b", -1},
		{"2024-01-02", "2024-1-10", -1},
		{"v2", "latest", 1},
	}
	for _, tt := range tests {
		if got := compareTags(tt.a, tt.b); got != tt.want {
			t.Errorf("compareTags(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareTags(tt.b, tt.a); got != -tt.want {
			t.Errorf("compareTags(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}
