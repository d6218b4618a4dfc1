package rest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// The document /openapi.json serves is the one KServe's FastAPI app
// generates for the same routes (scripts/kserve-openapi.py prints it;
// testdata/kserve-openapi.json is its output for KServe 0.16): the same
// paths, operationIds, tags, summaries, parameters and schemas, so clients
// generated from either one are the same. What is true of this server and
// not said by KServe's document is added: the error answers, the v1 and
// binary-extension bodies, InferenceResponse, the user's WithHandler
// routes. TestOpenAPI_MatchesKServe lists every difference.

// schema is the part of JSON Schema that FastAPI's documents use.
type schema struct {
	Ref                  string      `json:"$ref,omitempty"`
	Type                 string      `json:"type,omitempty"`
	Format               string      `json:"format,omitempty"`
	Items                *schema     `json:"items,omitempty"`
	AdditionalProperties *schema     `json:"additionalProperties,omitempty"`
	Properties           ordered     `json:"properties,omitempty"`
	AnyOf                []*schema   `json:"anyOf,omitempty"`
	Required             []string    `json:"required,omitempty"`
	Title                string      `json:"title,omitempty"`
	Description          string      `json:"description,omitempty"`
	Example              interface{} `json:"example,omitempty"`
}

// ordered is a JSON object that keeps its keys in the order given (pydantic
// lists a model's properties in field order, FastAPI its paths in
// registration order, and Swagger UI shows them so).
type ordered []member

type member struct {
	key string
	val any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type (
	document struct {
		OpenAPI    string     `json:"openapi"`
		Info       info       `json:"info"`
		Paths      ordered    `json:"paths"` // of pathItem
		Components components `json:"components"`
	}
	info struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	}
	components struct {
		Schemas ordered `json:"schemas"` // of *schema
	}
	pathItem  map[string]*operation // by lower-case method
	operation struct {
		Tags        []string            `json:"tags,omitempty"`
		Summary     string              `json:"summary"`
		Description string              `json:"description,omitempty"`
		OperationID string              `json:"operationId"`
		Parameters  []parameter         `json:"parameters,omitempty"`
		RequestBody *requestBody        `json:"requestBody,omitempty"`
		Responses   map[string]response `json:"responses"`
	}
	parameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Required    bool    `json:"required"`
		Schema      *schema `json:"schema"`
		Description string  `json:"description,omitempty"`
	}
	requestBody struct {
		Required bool                 `json:"required,omitempty"`
		Content  map[string]mediaType `json:"content"`
	}
	response struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	mediaType struct {
		Schema *schema `json:"schema"`
	}
)

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

func str() *schema { return &schema{Type: "string"} }

func titled(s *schema, title string) *schema { s.Title = title; return s }

func arrayOf(s *schema) *schema { return &schema{Type: "array", Items: s} }

// optional is pydantic 2's Optional[T]: T or null.
func optional(s *schema) *schema { return &schema{AnyOf: []*schema{s, {Type: "null"}}} }

// parameters is KServe's Parameters, Dict[str, Union[StrictFloat,
// StrictInt, StrictBool, str]].
func parameters() *schema {
	return &schema{Type: "object", AdditionalProperties: &schema{AnyOf: []*schema{
		{Type: "number"}, {Type: "integer"}, {Type: "boolean"}, {Type: "string"},
	}}}
}

func jsonContent(s *schema) map[string]mediaType {
	return map[string]mediaType{"application/json": {Schema: s}}
}

// ok is FastAPI's 200 answer with body s.
func ok(s *schema) map[string]response {
	return map[string]response{"200": {Description: "Successful Response", Content: jsonContent(s)}}
}

// validationError is the 422 FastAPI lists on every route with parameters.
var validationError = response{Description: "Validation Error", Content: jsonContent(ref("HTTPValidationError"))}

// withErrors adds KServe's {"error": ...} answers, which FastAPI's document
// leaves out (they come from exception handlers), to rs.
func withErrors(rs map[string]response, errs map[int]string) map[string]response {
	for code, why := range errs {
		rs[fmt.Sprint(code)] = response{Description: why, Content: jsonContent(ref("ErrorResponse"))}
	}
	return rs
}

// Error answers, named as KServe's exceptions.
const (
	errModelNotFound  = `Model not found: {"error": "Model with name <model_name> does not exist."}`
	errModelNotReady  = `Model not ready: {"error": "Model with name <model_name> is not ready."}`
	errInvalidInput   = `Invalid input: {"error": "<why>"}`
	errInference      = `The model failed (InferenceError, or any other error): {"error": "<why>"}`
	errNotImplemented = `Not implemented: {"error": "Model versioning not supported yet."}`
)

func modelName() parameter {
	return parameter{Name: "model_name", In: "path", Required: true, Schema: titled(str(), "Model Name")}
}

// modelVersion is KServe's `model_version: Optional[str] = None` argument:
// a query parameter where the path has none.
func modelVersion(in string) parameter {
	return parameter{Name: "model_version", In: in, Required: in == "path", Schema: titled(optional(str()), "Model Version")}
}

// buildOpenAPI returns /openapi.json for a server of the given version
// and options: /metrics when it serves it, 413 when bodies are limited,
// the user's routes.
func buildOpenAPI(version string, opts Options) ([]byte, error) {
	// The answers of the routes that run a model.
	modelErrors := func(more map[int]string) map[int]string {
		errs := map[int]string{
			400: errInvalidInput, 404: errModelNotFound, 500: errInference,
			503: errModelNotReady + "; or more requests wait than --max_queued_requests allows (Retry-After)",
		}
		if opts.MaxRequestBodySize > 0 {
			errs[413] = fmt.Sprintf("The body is over --max_request_body_size (%d bytes), as sent or, when compressed, decompressed", opts.MaxRequestBodySize)
		}
		// encoding.go: a body may come compressed, with these codings alone.
		errs[415] = "The body's Content-Encoding is not one of " + acceptEncoding + " (or x-gzip, identity); the answer's Accept-Encoding lists them"
		for code, why := range more {
			errs[code] = why
		}
		return errs
	}

	var paths ordered
	add := func(path, method string, op *operation) {
		for _, m := range paths {
			if m.key == path {
				item := m.val.(pathItem)
				if _, dup := item[method]; !dup { // a pattern with a host repeats one without
					item[method] = op
				}
				return
			}
		}
		paths = append(paths, member{path, pathItem{method: op}})
	}

	// server.py's root router, untagged.
	add("/", "get", &operation{Summary: "Live", OperationID: "live__get",
		Description: `Liveness: always {"status": "alive"}.`,
		Responses:   ok(titled(&schema{Type: "object", AdditionalProperties: str()}, "Response Live  Get"))})
	if opts.Metrics != nil {
		add("/metrics", "get", &operation{Summary: "Metrics Handler", OperationID: "metrics_handler_metrics_get",
			Description: "Prometheus metrics; the Accept header chooses the text format or OpenMetrics.",
			Responses: map[string]response{"200": {Description: "Successful Response", Content: map[string]mediaType{
				"text/plain":                   {Schema: str()},
				"application/openmetrics-text": {Schema: str()},
			}}}})
	}

	// v1_endpoints.py.
	v1 := []string{"V1"}
	add("/v1/models", "get", &operation{Tags: v1, Summary: "Models", OperationID: "models_v1_models_get",
		Description: "The names of the models, ready or not.",
		Responses:   ok(titled(&schema{Type: "object", AdditionalProperties: arrayOf(str())}, "Response Models V1 Models Get"))})
	add("/v1/models/{model_name}", "get", &operation{Tags: v1, Summary: "Model Ready", OperationID: "model_ready_v1_models__model_name__get",
		Description: `{"name": <model_name>, "ready": true} when the model is ready.`,
		Parameters:  []parameter{modelName()},
		Responses: withErrors(map[string]response{
			"200": ok(titled(&schema{Type: "object", AdditionalProperties: &schema{AnyOf: []*schema{str(), {Type: "boolean"}}}},
				"Response Model Ready V1 Models  Model Name  Get"))["200"],
			"422": validationError,
		}, map[int]string{404: errModelNotFound, 503: errModelNotReady})})
	for _, verb := range []string{"predict", "explain"} {
		title := strings.ToUpper(verb[:1]) + verb[1:]
		add("/v1/models/{model_name}:"+verb, "post", &operation{Tags: v1, Summary: title, OperationID: verb + "_v1_models__model_name__" + verb + "_post",
			Description: title + ` with the model. A JSON body is conventionally {"instances": [...]} and answered {"predictions": [...]}; ` +
				`a CloudEvent, binary (ce-* headers) or structured (application/cloudevents+json), is answered as a CloudEvent in the same mode; ` +
				`a body of another content type reaches the model as raw bytes, and the model may answer any bytes.`,
			Parameters: []parameter{modelName()},
			RequestBody: &requestBody{Content: map[string]mediaType{
				"application/json":             {Schema: &schema{Type: "object", Example: map[string]any{"instances": [][]float64{{1, 2, 3, 4}}}}},
				"application/cloudevents+json": {Schema: &schema{Type: "object", Example: map[string]any{"specversion": "1.0", "id": "1", "source": "example", "type": "com.example.request", "time": "2026-01-01T00:00:00Z", "data": map[string]any{"instances": [][]float64{{1, 2, 3, 4}}}}}},
				"application/octet-stream":     {Schema: &schema{Type: "string", Format: "binary"}},
			}},
			Responses: withErrors(map[string]response{
				"200": {Description: "Successful Response", Content: map[string]mediaType{
					"application/json":             {Schema: &schema{}},
					"application/cloudevents+json": {Schema: &schema{Type: "object"}},
				}},
				"422": validationError,
			}, modelErrors(nil))})
	}

	// v2_endpoints.py; the version routes it hides (include_in_schema=False)
	// stay hidden, the versioned ready route it lists is listed.
	v2 := []string{"V2"}
	add("/v2", "get", &operation{Tags: v2, Summary: "Metadata", OperationID: "metadata_v2_get",
		Description: "The server's name, version and extensions.", Responses: ok(ref("ServerMetadataResponse"))})
	add("/v2/health/live", "get", &operation{Tags: v2, Summary: "Live", OperationID: "live_v2_health_live_get",
		Description: "Server liveness.",
		Responses:   withErrors(ok(ref("ServerLiveResponse")), map[int]string{503: `Server not live: {"error": "Server is not live."}`})})
	add("/v2/health/ready", "get", &operation{Tags: v2, Summary: "Ready", OperationID: "ready_v2_health_ready_get",
		Description: "Server readiness: every model is ready.",
		Responses:   withErrors(ok(ref("ServerReadyResponse")), map[int]string{503: `Not ready: {"error": "Server is not ready. Model with name <model_name> is not ready."}`})})
	add("/v2/models", "get", &operation{Tags: v2, Summary: "Models", OperationID: "models_v2_models_get",
		Description: "The names of the models, ready or not.", Responses: ok(ref("ListModelsResponse"))})
	add("/v2/models/{model_name}", "get", &operation{Tags: v2, Summary: "Model Metadata", OperationID: "model_metadata_v2_models__model_name__get",
		Description: "The model's name, platform and input and output tensors. Model versions are not supported.",
		Parameters:  []parameter{modelName(), modelVersion("query")},
		Responses: withErrors(map[string]response{"200": ok(ref("ModelMetadataResponse"))["200"], "422": validationError},
			map[int]string{404: errModelNotFound, 501: errNotImplemented, 503: errModelNotReady})})
	add("/v2/models/{model_name}/ready", "get", &operation{Tags: v2, Summary: "Model Ready", OperationID: "model_ready_v2_models__model_name__ready_get",
		Description: "Model readiness. Model versions are not supported.",
		Parameters:  []parameter{modelName(), modelVersion("query")},
		Responses: withErrors(map[string]response{"200": ok(ref("ModelReadyResponse"))["200"], "422": validationError},
			map[int]string{404: errModelNotFound, 501: errNotImplemented, 503: errModelNotReady})})
	add("/v2/models/{model_name}/versions/{model_version}/ready", "get", &operation{Tags: v2, Summary: "Model Ready",
		OperationID: "model_ready_v2_models__model_name__versions__model_version__ready_get",
		Description: "Model versions are not supported: always 501.",
		Parameters:  []parameter{modelName(), modelVersion("path")},
		Responses: withErrors(map[string]response{"200": ok(ref("ModelReadyResponse"))["200"], "422": validationError},
			map[int]string{501: errNotImplemented})})
	add("/v2/models/{model_name}/infer", "post", &operation{Tags: v2, Summary: "Infer", OperationID: "infer_v2_models__model_name__infer_post",
		Description: "Open Inference Protocol inference. A body that is not JSON is the binary tensor data extension: " +
			"a JSON InferenceRequest of Inference-Header-Content-Length bytes, then the tensors' raw bytes; " +
			"outputs asked with \"binary_data\": true are answered the same way.",
		Parameters: []parameter{modelName(), modelVersion("query"), {Name: "Inference-Header-Content-Length", In: "header", Schema: &schema{Type: "integer"},
			Description: "Binary tensor data extension: the length of the JSON part of a body that is not JSON."}},
		RequestBody: &requestBody{Required: true, Content: map[string]mediaType{
			"application/json":         {Schema: titled(&schema{AnyOf: []*schema{ref("InferenceRequest"), {Type: "string", Format: "binary"}}}, "Request Body")},
			"application/octet-stream": {Schema: &schema{Type: "string", Format: "binary"}},
		}},
		Responses: withErrors(map[string]response{
			"200": {Description: "Successful Response", Content: map[string]mediaType{
				"application/json":         {Schema: ref("InferenceResponse")},
				"application/octet-stream": {Schema: &schema{Type: "string", Format: "binary"}},
			}},
			"422": validationError,
		}, modelErrors(map[int]string{501: errNotImplemented}))})
	for _, action := range []string{"load", "unload"} {
		title := strings.ToUpper(action[:1]) + action[1:]
		errs := map[int]string{404: errModelNotFound, 500: "The model failed to " + action}
		if action == "load" {
			errs[503] = `Not served: {"error": "Model with name <model_name> is not ready."}`
		}
		add("/v2/repository/models/{model_name}/"+action, "post", &operation{Tags: v2, Summary: title,
			OperationID: action + "_v2_repository_models__model_name__" + action + "_post",
			Description: title + ` the model: {"name": <model_name>, "` + action + `": true}.`,
			Parameters:  []parameter{modelName()},
			Responses: withErrors(map[string]response{
				"200": ok(titled(&schema{Type: "object"}, "Response "+title+" V2 Repository Models  Model Name  "+title+" Post"))["200"],
				"422": validationError,
			}, errs)})
	}

	for _, rt := range opts.Routes {
		userRoute(rt.Pattern, add)
	}

	doc := document{
		OpenAPI:    "3.1.0",
		Info:       info{Title: "KServe ModelServer", Version: version},
		Paths:      paths,
		Components: components{Schemas: schemas()},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	return b, nil
}

// openAPIMethods are the methods an OpenAPI path item can name; a pattern
// with another method (WebDAV's, say) cannot be listed.
var openAPIMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true,
}

// userRoute lists a WithHandler pattern ("[METHOD ][HOST]/PATH", net/http
// ServeMux syntax) as FastAPI lists a plain route whose handler takes the
// raw request: the method, a summary and operationId made from a name, a
// 200 answer of any JSON. A Go handler has no name, so the name is the
// last literal segment of the path ("completions" for
// /openai/v1/completions). The path's wildcards are listed as string path
// parameters, so Swagger UI can fill them in; "{rest...}" becomes
// "{rest}" (it may hold slashes) and "{$}" is dropped. A pattern with no
// method, which answers every method, is listed under the usual five.
func userRoute(pattern string, add func(path, method string, op *operation)) {
	method, path := "", strings.TrimSpace(pattern)
	if i := strings.IndexAny(path, " \t"); i >= 0 {
		method, path = strings.ToLower(path[:i]), strings.TrimLeft(path[i:], " \t")
	}
	i := strings.IndexByte(path, '/')
	if i < 0 {
		return // checked by the caller; nothing to list
	}
	path = path[i:] // the host, if any, goes
	var params []parameter
	name := "handler"
	segs := strings.Split(path, "/")
	for j, seg := range segs {
		if w, ok := strings.CutPrefix(seg, "{"); ok && strings.HasSuffix(w, "}") {
			w = strings.TrimSuffix(strings.TrimSuffix(w, "}"), "...")
			if w == "$" {
				segs[j] = ""
				continue
			}
			segs[j] = "{" + w + "}"
			params = append(params, parameter{Name: w, In: "path", Required: true, Schema: titled(str(), pyTitle(w))})
			continue
		}
		if seg != "" {
			name = identifier(seg)
		}
	}
	path = strings.Join(segs, "/")
	methods := []string{method}
	if method == "" {
		methods = []string{"get", "post", "put", "patch", "delete"}
	}
	for _, m := range methods {
		if !openAPIMethods[m] {
			continue
		}
		add(path, m, &operation{
			Summary: pyTitle(name),
			// FastAPI's generate_unique_id: name + path, non-word runes
			// as "_", then the method.
			OperationID: identifier(name+path) + "_" + m,
			Parameters:  params,
			Responses:   ok(&schema{}),
		})
	}
}

// identifier replaces what Python's \W matches with "_".
func identifier(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return '_'
	}, s)
}

// pyTitle is FastAPI's summary of a name, Python's
// name.replace("_", " ").title(): a letter after a letter is lower case,
// any other letter upper case.
func pyTitle(name string) string {
	prev := false
	return strings.Map(func(r rune) rune {
		if r == '_' {
			r = ' '
		}
		letter := unicode.IsLetter(r)
		defer func() { prev = letter }()
		if !letter {
			return r
		}
		if prev {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, name)
}

// schemas are the components/schemas: KServe's pydantic models
// (v2_datamodels.py) as pydantic 2 renders them, FastAPI's validation
// error, and the two this document adds (InferenceResponse, the infer
// route's answer, which KServe declares as response_model=None, and our
// ErrorResponse).
func schemas() ordered {
	model := func(title, description string, required []string, example any, props ...member) *schema {
		return &schema{Type: "object", Title: title, Description: description, Required: required, Properties: props, Example: example}
	}
	prop := func(name string, s *schema) member { return member{name, titled(s, pyTitle(name))} }
	tensor := func(title, description string) *schema {
		return model(title, description, []string{"name", "shape", "datatype", "data"}, nil,
			prop("name", str()),
			prop("shape", arrayOf(&schema{Type: "integer"})),
			prop("datatype", str()),
			prop("parameters", optional(parameters())),
			prop("data", arrayOf(&schema{})))
	}
	return ordered{
		{"ErrorResponse", model("ErrorResponse", "The body of KServe's errors (InvalidInput, ModelNotFound, ModelNotReady, InferenceError, ...).",
			[]string{"error"}, map[string]any{"error": "Model with name m does not exist."}, prop("error", str()))},
		{"HTTPValidationError", model("HTTPValidationError", "", nil, nil,
			prop("detail", arrayOf(ref("ValidationError"))))},
		{"InferenceRequest", model("InferenceRequest",
			"InferenceRequest Model\n\n$inference_request =\n{\n  \"id\" : $string #optional,\n  \"parameters\" : $parameters #optional,\n  \"inputs\" : [ $request_input, ... ],\n  \"outputs\" : [ $request_output, ... ] #optional\n}",
			[]string{"inputs"},
			map[string]any{
				"id": "42",
				"inputs": []any{
					map[string]any{"name": "input0", "shape": []int{2, 2}, "datatype": "UINT32", "data": []int{1, 2, 3, 4}},
					map[string]any{"name": "input1", "shape": []int{3}, "datatype": "BOOL", "data": []string{"true"}},
				},
				"outputs": []any{map[string]any{"name": "output0"}},
			},
			prop("id", optional(str())),
			prop("parameters", optional(parameters())),
			prop("inputs", arrayOf(ref("RequestInput"))),
			prop("outputs", optional(arrayOf(ref("RequestOutput")))))},
		{"InferenceResponse", model("InferenceResponse",
			"InferenceResponse\n\n$inference_response =\n{\n  \"model_name\" : $string,\n  \"model_version\" : $string #optional,\n  \"id\" : $string,\n  \"parameters\" : $parameters #optional,\n  \"outputs\" : [ $response_output, ... ]\n}",
			[]string{"model_name", "id", "outputs"},
			map[string]any{
				"id": "42",
				"outputs": []any{
					map[string]any{"name": "output0", "shape": []int{3, 2}, "datatype": "FP32", "data": []float64{1.0, 1.1, 2.0, 2.1, 3.0, 3.1}},
				},
			},
			prop("model_name", str()),
			prop("model_version", optional(str())),
			prop("id", str()),
			prop("parameters", optional(parameters())),
			prop("outputs", arrayOf(ref("ResponseOutput"))))},
		{"ListModelsResponse", model("ListModelsResponse",
			"ListModelsResponse\n\n$models_list_response =\n{\n  \"models\" : [ $string, ... ]\n}",
			[]string{"models"}, nil, prop("models", arrayOf(str())))},
		{"MetadataTensor", model("MetadataTensor",
			"MetadataTensor\n\n$metadata_tensor =\n{\n  \"name\" : $string,\n  \"datatype\" : $string,\n  \"shape\" : [ $number, ... ]\n}",
			[]string{"name", "datatype", "shape"}, nil,
			prop("name", str()), prop("datatype", str()), prop("shape", arrayOf(&schema{Type: "integer"})))},
		{"ModelMetadataResponse", model("ModelMetadataResponse",
			"ModelMetadataResponse\n\n$metadata_model_response =\n{\n  \"name\" : $string,\n  \"versions\" : [ $string, ... ] #optional,\n  \"platform\" : $string,\n  \"inputs\" : [ $metadata_tensor, ... ],\n  \"outputs\" : [ $metadata_tensor, ... ]\n}",
			[]string{"name", "platform", "inputs", "outputs"}, nil,
			prop("name", str()),
			prop("versions", optional(arrayOf(str()))),
			prop("platform", str()),
			prop("inputs", arrayOf(ref("MetadataTensor"))),
			prop("outputs", arrayOf(ref("MetadataTensor"))))},
		{"ModelReadyResponse", model("ModelReadyResponse",
			"ModelReadyResponse\n\n$ready_model_response =\n{\n  \"name\": $string,\n  \"ready\": $bool\n}",
			[]string{"name", "ready"}, nil, prop("name", str()), prop("ready", &schema{Type: "boolean"}))},
		{"RequestInput", tensor("RequestInput",
			"RequestInput Model\n\n$request_input =\n{\n  \"name\" : $string,\n  \"shape\" : [ $number, ... ],\n  \"datatype\"  : $string,\n  \"parameters\" : $parameters #optional,\n  \"data\" : $tensor_data\n}")},
		{"RequestOutput", model("RequestOutput",
			"RequestOutput Model\n\n$request_output =\n{\n  \"name\" : $string,\n  \"parameters\" : $parameters #optional,\n}",
			[]string{"name"}, nil, prop("name", str()), prop("parameters", optional(parameters())))},
		{"ResponseOutput", tensor("ResponseOutput",
			"ResponseOutput Model\n\n$response_output =\n{\n  \"name\" : $string,\n  \"shape\" : [ $number, ... ],\n  \"datatype\"  : $string,\n  \"parameters\" : $parameters #optional,\n  \"data\" : $tensor_data\n}")},
		{"ServerLiveResponse", model("ServerLiveResponse", "", []string{"live"}, map[string]any{"live": true}, prop("live", &schema{Type: "boolean"}))},
		{"ServerMetadataResponse", model("ServerMetadataResponse",
			"ServerMetadataResponse\n\n$server_metadata_response =\n{\n  \"name\" : $string,\n  \"version\" : $string,\n  \"extensions\" : [ $string, ... ]\n}",
			[]string{"name", "version", "extensions"}, nil,
			prop("name", str()), prop("version", str()), prop("extensions", arrayOf(str())))},
		{"ServerReadyResponse", model("ServerReadyResponse", "", []string{"ready"}, map[string]any{"ready": true}, prop("ready", &schema{Type: "boolean"}))},
		{"ValidationError", model("ValidationError", "", []string{"loc", "msg", "type"}, nil,
			member{"loc", titled(arrayOf(&schema{AnyOf: []*schema{str(), {Type: "integer"}}}), "Location")},
			member{"msg", titled(str(), "Message")},
			member{"type", titled(str(), "Error Type")})},
	}
}

// serveOpenAPI answers /openapi.json, built once per handler (the user's
// routes are part of it).
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h.openAPIOnce.Do(func() {
		h.openAPI, h.openAPIErr = buildOpenAPI(h.dp.ServerMetadata().Version, h.opts)
	})
	if h.openAPIErr != nil {
		h.writeError(w, r, h.openAPIErr)
		return
	}
	h.writeRaw(w, http.StatusOK, "application/json", h.openAPI)
}
