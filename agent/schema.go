package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// schema is the subset of JSON Schema the tool catalog uses: type (object,
// string, integer, number, boolean, array), properties, required,
// additionalProperties false, enum, minimum and maximum, minLength and
// maxLength, items and format date-time. Other keywords (description, ...)
// are ignored. It lets the agent refuse a malformed call before it reaches
// the runner and tell the model exactly what was wrong.
type schema struct {
	Type        string             `json:"type"`
	Properties  map[string]*schema `json:"properties"`
	Required    []string           `json:"required"`
	Additional  json.RawMessage    `json:"additionalProperties"`
	Enum        []any              `json:"enum"`
	Minimum     *float64           `json:"minimum"`
	Maximum     *float64           `json:"maximum"`
	MinLength   *int               `json:"minLength"`
	MaxLength   *int               `json:"maxLength"`
	Items       *schema            `json:"items"`
	Format      string             `json:"format"`
	closed      bool               // additionalProperties: false
	enumStrings []string           // Enum, for messages
}

// compileSchema parses a tool's parameter schema. An empty schema accepts
// any object.
func compileSchema(raw json.RawMessage) (*schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return &schema{Type: "object"}, nil
	}
	var s schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	if err := s.prepare(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *schema) prepare() error {
	switch s.Type {
	case "", "object", "string", "integer", "number", "boolean", "array":
	default:
		return fmt.Errorf("schema type %q is not supported", s.Type)
	}
	if a := bytes.TrimSpace(s.Additional); len(a) > 0 {
		switch string(a) {
		case "false":
			s.closed = true
		case "true":
		default:
			return fmt.Errorf("additionalProperties must be true or false")
		}
	}
	for _, e := range s.Enum {
		s.enumStrings = append(s.enumStrings, fmt.Sprint(e))
	}
	for _, p := range s.Properties {
		if p == nil {
			return fmt.Errorf("schema has a null property")
		}
		if err := p.prepare(); err != nil {
			return err
		}
	}
	if s.Items != nil {
		return s.Items.prepare()
	}
	return nil
}

// validateArgs checks canonical tool arguments against s. The error says
// what is wrong in words a model can act on.
func (s *schema) validateArgs(args json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	return s.validate(v, "")
}

func (s *schema) validate(v any, path string) error {
	at := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if path == "" {
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("%s: %s", path, msg)
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return at("want an object, got %s", jsonType(v))
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return at("missing required property %q", r)
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, known := s.Properties[k]
			if !known {
				if s.closed {
					return at("unknown property %q (allowed: %s)", k, strings.Join(s.propertyNames(), ", "))
				}
				continue
			}
			if err := p.validate(m[k], join(path, k)); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return at("want a string, got %s", jsonType(v))
		}
		n := utf8.RuneCountInString(str)
		if s.MinLength != nil && n < *s.MinLength {
			return at("want at least %d characters, got %d", *s.MinLength, n)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			return at("want at most %d characters, got %d", *s.MaxLength, n)
		}
		if s.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				return at("want an RFC 3339 date and time such as 2025-07-01T08:00:00Z")
			}
		}
	case "integer", "number":
		num, ok := v.(json.Number)
		if !ok {
			return at("want %s, got %s", article(s.Type), jsonType(v))
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(f, 0) {
			return at("%s is not a usable number", num)
		}
		if s.Type == "integer" && f != math.Trunc(f) {
			return at("want an integer, got %s", num)
		}
		if s.Minimum != nil && f < *s.Minimum {
			return at("want at least %s, got %s", fmtNum(*s.Minimum), num)
		}
		if s.Maximum != nil && f > *s.Maximum {
			return at("want at most %s, got %s", fmtNum(*s.Maximum), num)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return at("want true or false, got %s", jsonType(v))
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return at("want an array, got %s", jsonType(v))
		}
		if s.Items != nil {
			for i, e := range list {
				if err := s.Items.validate(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return enumEqual(e, v) }) {
		return at("must be one of %s", strings.Join(s.enumStrings, ", "))
	}
	return nil
}

func (s *schema) propertyNames() []string {
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// enumEqual compares an enum value (decoded without UseNumber) with an
// argument value (decoded with it).
func enumEqual(e, v any) bool {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		ef, eok := e.(float64)
		return err == nil && eok && f == ef
	}
	switch ev := e.(type) {
	case string, bool, nil:
		return ev == v
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func article(typ string) string {
	if typ == "integer" {
		return "an integer"
	}
	return "a " + typ
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Bounds of a tool call's arguments as a model writes them, checked before
// anything records them (the proposal's audit record, the conversation, the
// runner and its audit): the largest arguments of the catalog are two
// messages of at most 4,000 characters, and no schema nests deeper than
// three levels.
const (
	MaxArgsBytes = 64 << 10
	MaxArgsDepth = 8
)

// checkArgsSize refuses arguments longer than MaxArgsBytes or with objects
// and arrays nested deeper than MaxArgsDepth, reading them once without
// decoding them (whether they are JSON at all is checked later). The error
// says what is wrong in words a model can act on.
func checkArgsSize(args []byte) error {
	if len(args) > MaxArgsBytes {
		return fmt.Errorf("the arguments are %d bytes long; at most %d are accepted", len(args), MaxArgsBytes)
	}
	depth, inString, escaped := 0, false, false
	for _, c := range args {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxArgsDepth {
				return fmt.Errorf("the arguments nest objects and arrays more than %d deep", MaxArgsDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
