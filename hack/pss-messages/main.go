// Command pss-messages writes test/fixtures/pss/forbidden-messages.json: for every
// fail/ fixture under the given root, the {reason, detail} list that upstream's own
// PodSecurity evaluator (k8s.io/pod-security-admission, the version pinned in
// go.mod) returns at the fixture's level and version, in its order. The conformance
// test compares the TypeScript port's wording with this byte for byte.
//
// Run from the repository root:
//
//	(cd hack/pss-messages && GOFLAGS=-mod=mod go run . ../../test/fixtures/pss) > test/fixtures/pss/forbidden-messages.json
package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

// Fields in name order, so the file reads as it always has (sorted keys, one per line).
type forbiddenMessage struct {
	Detail string `json:"detail"`
	Reason string `json:"reason"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pss-messages <fixture root>")
		os.Exit(2)
	}
	messages, err := collect(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "pss-messages:", err)
		os.Exit(1)
	}
	data, err := json.MarshalIndent(messages, "", " ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pss-messages:", err)
		os.Exit(1)
	}
	// One value per line without indentation keeps diffs between releases small;
	// JSON strings cannot hold a raw newline, so trimming line starts touches no value.
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		lines[i] = strings.TrimLeft(line, " ")
	}
	os.Stdout.WriteString(strings.Join(lines, "\n") + "\n")
}

// collect evaluates every <level>/<version>/fail/*.yaml under root. Pass fixtures are
// left out: upstream reports nothing for any of them (its own TestFixtures proves it).
func collect(root string) (map[string][]forbiddenMessage, error) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return nil, err
	}
	var paths []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	out := map[string][]forbiddenMessage{}
	for _, p := range paths {
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil, err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil, fmt.Errorf("%s: expected <level>/<version>/<pass|fail>/<file>.yaml", rel)
		}
		if parts[2] != "fail" {
			continue
		}
		level, err := api.ParseLevel(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		version, err := api.ParseVersion(parts[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		pod, err := readPod(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		results := []forbiddenMessage{}
		for _, r := range evaluator.EvaluatePod(api.LevelVersion{Level: level, Version: version}, &pod.ObjectMeta, &pod.Spec) {
			if !r.Allowed {
				results = append(results, forbiddenMessage{Detail: r.ForbiddenDetail, Reason: r.ForbiddenReason})
			}
		}
		if len(results) == 0 {
			return nil, fmt.Errorf("%s: a fail fixture that upstream allows", rel)
		}
		out[filepath.ToSlash(rel)] = results
	}
	return out, nil
}

// readPod decodes strictly and, as the API server does before admission, defaults a
// volume without any source to emptyDir (SetDefaults_Volume): the fixtures rely on it.
func readPod(path string) (*corev1.Pod, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		return nil, err
	}
	for i := range pod.Spec.Volumes {
		if v := &pod.Spec.Volumes[i]; v.VolumeSource == (corev1.VolumeSource{}) {
			v.EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
	}
	return &pod, nil
}
