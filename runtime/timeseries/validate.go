package timeseries

import (
	"slices"
	"strings"

	"github.com/kserve-gen/kserve-gen/runtime/internal/pydantic"
	"github.com/kserve-gen/kserve-gen/runtime/status"
)

// validate checks a forecast request's body (the JSON object) as pydantic
// validates it into KServe's ForecastRequest, and returns FastAPI's 422
// details for what it refuses: every error, fields in the models'
// declaration order, as pydantic reports them. Unlike pydantic's lax
// mode, numbers sent as strings ("8") are refused.
func validate(body map[string]any) []status.ValidationDetail {
	var c checker
	root := []any{"body"}
	c.str(body, root, "model", true)
	if v, ok := c.field(body, root, "inputs", true); ok {
		if list, ok := v.([]any); !ok {
			c.add("list_type", at(root, "inputs"), "Input should be a valid list", v, nil)
		} else {
			for i, in := range list {
				c.input(in, at(root, "inputs", i))
			}
		}
	}
	if v, ok := c.field(body, root, "options", true); ok {
		c.options(v, at(root, "options"))
	}
	if v, ok := body["metadata"]; ok && v != nil {
		c.object(v, at(root, "metadata"), "Metadata")
	}
	return c.details
}

type checker struct{ details []status.ValidationDetail }

func (c *checker) add(typ string, loc []any, msg string, input any, ctx map[string]any) {
	c.details = append(c.details, status.ValidationDetail{Type: typ, Loc: loc, Msg: msg, Input: input, Ctx: ctx})
}

// at is loc followed by more, in a new slice.
func at(loc []any, more ...any) []any { return append(slices.Clone(loc), more...) }

// field returns obj's member name; a required one that is missing is an
// error.
func (c *checker) field(obj map[string]any, loc []any, name string, required bool) (any, bool) {
	v, ok := obj[name]
	if !ok && required {
		c.details = append(c.details, pydantic.Missing(obj, at(loc, name)...))
	}
	return v, ok
}

// object checks that v is an object, as pydantic checks a nested model
// (class, its name).
func (c *checker) object(v any, loc []any, class string) (map[string]any, bool) {
	obj, ok := v.(map[string]any)
	if !ok {
		c.add("model_type", loc, "Input should be a valid dictionary or instance of "+class, v, map[string]any{"class_name": class})
	}
	return obj, ok
}

func (c *checker) str(obj map[string]any, loc []any, name string, required bool) {
	v, ok := c.field(obj, loc, name, required)
	if !ok || (!required && v == nil) {
		return
	}
	if _, ok := v.(string); !ok {
		c.add("string_type", at(loc, name), "Input should be a valid string", v, nil)
	}
}

// enum checks a str Enum field: pydantic's error lists the values,
// quoted, the last after "or".
func (c *checker) enum(obj map[string]any, loc []any, name string, values []string) {
	v, ok := c.field(obj, loc, name, true)
	if !ok {
		return
	}
	if s, ok := v.(string); ok && slices.Contains(values, s) {
		return
	}
	quoted := make([]string, len(values))
	for i, s := range values {
		quoted[i] = "'" + s + "'"
	}
	expected := strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
	c.add("enum", at(loc, name), "Input should be "+expected, v, map[string]any{"expected": expected})
}

func (c *checker) input(v any, loc []any) {
	obj, ok := c.object(v, loc, "TimeSeriesInput")
	if !ok {
		return
	}
	c.enum(obj, loc, "type", []string{string(Univariate), string(Multivariate)})
	c.str(obj, loc, "name", true)
	if s, ok := c.field(obj, loc, "series", true); ok {
		c.series(s, at(loc, "series"))
	}
	c.enum(obj, loc, "frequency", frequencies)
	c.str(obj, loc, "start_timestamp", false)
}

// series checks Union[List[float], List[List[float]]]: when neither
// matches, pydantic reports each member's errors, under the member's name.
func (c *checker) series(v any, loc []any) {
	const flat, nested = "list[float]", "list[list[float]]"
	list, ok := v.([]any)
	if !ok {
		c.add("list_type", at(loc, flat), "Input should be a valid list", v, nil)
		c.add("list_type", at(loc, nested), "Input should be a valid list", v, nil)
		return
	}
	var asFlat, asNested checker
	for i, x := range list {
		asFlat.number(x, at(loc, flat, i))
	}
	if len(asFlat.details) == 0 {
		return
	}
	for i, x := range list {
		row, ok := x.([]any)
		if !ok {
			asNested.add("list_type", at(loc, nested, i), "Input should be a valid list", x, nil)
			continue
		}
		for j, y := range row {
			asNested.number(y, at(loc, nested, i, j))
		}
	}
	if len(asNested.details) == 0 {
		return
	}
	c.details = slices.Concat(c.details, asFlat.details, asNested.details)
}

// number checks a float.
func (c *checker) number(v any, loc []any) {
	switch v.(type) {
	case float64:
	case string:
		c.add("float_parsing", loc, "Input should be a valid number, unable to parse string as a number", v, nil)
	default:
		c.add("float_type", loc, "Input should be a valid number", v, nil)
	}
}

func (c *checker) options(v any, loc []any) {
	obj, ok := c.object(v, loc, "ForecastOptions")
	if !ok {
		return
	}
	if h, ok := c.field(obj, loc, "horizon", true); ok {
		switch n := h.(type) {
		case float64:
			if n != float64(int64(n)) {
				c.add("int_from_float", at(loc, "horizon"), "Input should be a valid integer, got a number with a fractional part", h, nil)
			}
		case string:
			c.add("int_parsing", at(loc, "horizon"), "Input should be a valid integer, unable to parse string as an integer", h, nil)
		default:
			c.add("int_type", at(loc, "horizon"), "Input should be a valid integer", h, nil)
		}
	}
	if q, ok := obj["quantiles"]; ok && q != nil {
		list, ok := q.([]any)
		if !ok {
			c.add("list_type", at(loc, "quantiles"), "Input should be a valid list", q, nil)
			return
		}
		for i, x := range list {
			c.number(x, at(loc, "quantiles", i))
		}
	}
}
