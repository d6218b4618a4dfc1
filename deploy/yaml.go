package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// MarshalYAML renders objects as a YAML stream, one document per object,
// separated by "---".
//
// Fields come out in Go struct declaration order (apiVersion, kind,
// metadata, spec; a container's name, image, args, ports, env, resources,
// probes), which reads like hand-written Kubernetes YAML and never changes
// between runs; map keys are sorted. Objects go through encoding/json first
// so the Kubernetes types' json tags and custom marshallers (quantities,
// int-or-string ports) decide the field names and values; the JSON is then
// re-read as a YAML node tree (JSON is YAML), which keeps the order, and
// printed in block style. Empty objects ({}) are dropped: the Kubernetes
// types print them for unset struct fields such as a container's resources.
// Those under a keepEmpty key stay: there the object's presence is the
// setting.
func MarshalYAML(objects ...any) ([]byte, error) {
	var buf bytes.Buffer
	for i, obj := range objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", obj, err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("re-read %T as YAML: %w", obj, err)
		}
		blockStyle(&doc)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return nil, fmt.Errorf("write %T as YAML: %w", obj, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("write %T as YAML: %w", obj, err)
		}
	}
	return buf.Bytes(), nil
}

// keepEmpty are the keys whose empty object means something. `batcher: {}`
// is KServe's batcher with the cluster's defaults: KServe injects the
// batcher only when the field is there, so dropping it turned --batcher off.
var keepEmpty = map[string]bool{"batcher": true}

// blockStyle clears the flow/quoted styles the JSON input carried, so the
// encoder prints block collections and quotes a string only where YAML
// needs it (for example "8080" or "true", which would otherwise read back
// as a number or a boolean), and removes mapping entries whose value is an
// empty mapping, unless keepEmpty names the key.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.MappingNode && len(v.Content) == 0 && !keepEmpty[k.Value] {
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}
