package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// contextDockerfile is the name the Dockerfile has inside the build context
// that --build sends, so that it never collides with one of the app's files.
const contextDockerfile = ".devcluster-export.Dockerfile"

// buildTimeout bounds one docker build: a base without what the app needs
// installs from PyPI, which can take minutes, never hours.
const buildTimeout = 20 * time.Minute

// imageBuild is one image export --build makes: the app's directory and a
// Dockerfile, tagged by the content of both.
type imageBuild struct {
	repo       string // "shop" or "registry.example.com/shop"
	contextDir string // the manifest's directory
	dockerfile []byte
	skip       string // a directory left out of the context: the export's own (-o)
}

// repoOf is an image name without its tag: "shop:latest" → "shop",
// "localhost:5000/shop" stays as it is.
func repoOf(image string) string {
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		return image[:i]
	}
	return image
}

// contextTar is the build context as docker build reads it from stdin: the
// app's files in a fixed order with fixed times and owners, so that the same
// content gives the same bytes (and the same tag), without the export's own
// directory (stack.yaml names the tag: inside the context it would change the
// content on every build), .git, .devcluster, Python's bytecode, and what
// the app's .dockerignore names (its simple patterns; "!" exceptions are not
// read).
func (b *imageBuild) contextTar() ([]byte, error) {
	ignore := []string{".git", ".devcluster", "__pycache__", "*.pyc", contextDockerfile}
	if data, err := os.ReadFile(filepath.Join(b.contextDir, ".dockerignore")); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "!") {
				ignore = append(ignore, strings.TrimPrefix(path.Clean(line), "/"))
			}
		}
	}
	ignored := func(rel string) bool {
		for _, pat := range ignore {
			if ok, _ := path.Match(pat, rel); ok {
				return true
			}
			if ok, _ := path.Match(pat, path.Base(rel)); ok && !strings.Contains(pat, "/") {
				return true
			}
		}
		return false
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(b.contextDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(b.contextDir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if p == b.skip || ignored(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		switch {
		case d.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
			return tw.WriteHeader(hdr)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(data))
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
			return tw.WriteHeader(hdr)
		}
		return nil // sockets, FIFOs: nothing an image needs
	})
	if err != nil {
		return nil, fmt.Errorf("read the build context %s: %w", b.contextDir, err)
	}
	hdr := &tar.Header{Name: contextDockerfile, Mode: 0o644, Size: int64(len(b.dockerfile)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b.dockerfile); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// build makes the image unless one of the same content is there already, and
// returns its name: the repository tagged with the hash of the context and
// the Dockerfile. After a change to the app the tag changes, so the next
// docker stack deploy rolls the new code out; without one it stays, and the
// deploy changes nothing.
func (b *imageBuild) build(ctx context.Context, e *env) (string, error) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		return "", withHint(errors.New("export --build: the docker CLI is not on PATH"), "install Docker (apt-get install docker.io), or export without --build and build the image yourself")
	}
	tarball, err := b.contextTar()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(tarball)
	image := b.repo + ":" + hex.EncodeToString(sum[:])[:12]
	if exec.CommandContext(ctx, docker, "image", "inspect", image).Run() == nil {
		fmt.Fprintf(e.stderr, "image %s is there already (same content)\n", image)
		return image, nil
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, docker, "build", "-q", "-t", image, "-f", contextDockerfile, "-")
	cmd.Stdin = bytes.NewReader(tarball)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("export --build: docker build of %s (context %s): %v\n%s", image, b.contextDir, err, buildErrors(stderr.String()))
	}
	fmt.Fprintf(e.stderr, "built %s\n", image)
	return image, nil
}

// buildErrors drops the legacy builder's deprecation notice from docker
// build's stderr, which says nothing about why the build failed.
func buildErrors(s string) string {
	var keep []string
	skipping := false
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		switch {
		case strings.HasPrefix(line, "DEPRECATED: The legacy builder"):
			skipping = true
		case skipping && strings.HasPrefix(line, " "):
		default:
			skipping = false
			keep = append(keep, line)
		}
	}
	return strings.Join(slices.Clip(keep), "\n")
}
