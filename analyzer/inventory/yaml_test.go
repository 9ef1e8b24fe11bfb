package inventory

import "gopkg.in/yaml.v3"

func yamlUnmarshal(b []byte, v *map[string]any) error { return yaml.Unmarshal(b, v) }
