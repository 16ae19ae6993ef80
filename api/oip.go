package api

import "encoding/json"

// The Open Inference Protocol (KServe V2) types, as its REST specification names them.
// latentzoo serves each graph of each served entry as an OIP model, and each entry also as
// a reconstruct model; see OIPModelName.

// OIPServerMetadata is the answer of GET /v2.
type OIPServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// OIPLive is the answer of GET /v2/health/live.
type OIPLive struct {
	Live bool `json:"live"`
}

// OIPReady is the answer of GET /v2/health/ready.
type OIPReady struct {
	Ready bool `json:"ready"`
}

// OIPModelReady is the answer of GET /v2/models/{model}[/versions/{version}]/ready.
type OIPModelReady struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
}

// OIPTensorMetadata describes a model's input or output; -1 marks a dimension of any size.
type OIPTensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// OIPModelMetadata is the answer of GET /v2/models/{model}[/versions/{version}].
type OIPModelMetadata struct {
	Name     string              `json:"name"`
	Versions []string            `json:"versions,omitempty"`
	Platform string              `json:"platform"`
	Inputs   []OIPTensorMetadata `json:"inputs"`
	Outputs  []OIPTensorMetadata `json:"outputs"`
}

// OIPInferRequest is the body of POST /v2/models/{model}[/versions/{version}]/infer.
type OIPInferRequest struct {
	ID         string                     `json:"id,omitempty"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Inputs     []OIPRequestInput          `json:"inputs"`
	Outputs    []OIPRequestOutput         `json:"outputs,omitempty"`
}

// OIPRequestInput is one input tensor of an inference request. Data is row-major, flat or
// nested as the shape.
type OIPRequestInput struct {
	Name       string                     `json:"name"`
	Shape      []int64                    `json:"shape"`
	Datatype   string                     `json:"datatype"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
	Data       json.RawMessage            `json:"data"`
}

// OIPRequestOutput names an output an inference request wants.
type OIPRequestOutput struct {
	Name       string                     `json:"name"`
	Parameters map[string]json.RawMessage `json:"parameters,omitempty"`
}

// OIPInferResponse is the answer of an inference request.
type OIPInferResponse struct {
	ModelName    string              `json:"model_name"`
	ModelVersion string              `json:"model_version,omitempty"`
	ID           string              `json:"id,omitempty"`
	Outputs      []OIPResponseOutput `json:"outputs"`
}

// OIPResponseOutput is one output tensor of an inference answer, its data flat.
type OIPResponseOutput struct {
	Name     string    `json:"name"`
	Shape    []int64   `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float32 `json:"data"`
}

// OIPModelName is the OIP model name of graph role (or "reconstruct") of the entry of
// family and dataset; the entry's tag is the model's version. Entry names have no "_",
// so the name is unambiguous, and it is a valid Triton model name.
func OIPModelName(family, dataset, role string) string {
	return family + "_" + dataset + "_" + role
}

// OIPReconstruct is the role of the model that chains an entry's encoder into its
// reconstruct graph: image in, image out.
const OIPReconstruct = "reconstruct"
