// Package api holds the types of latentzoo's HTTP API, the requests a client sends and the
// answers the server gives, and a Go client for it. The server (package serve) answers in
// these types, and the client reads them, so the two cannot drift apart; API.md beside the
// server documents each field.
package api

import (
	"github.com/latentzoo/latentzoo/zoo"
)

// Request is the JSON body of an inference request (POST /reconstruct, /encode, /decode,
// /interpolate, /sample, /edit). Each endpoint uses some of the fields and refuses the
// others; zero fields are left out. Images are encoded PNG or JPEG files, sent as base64.
type Request struct {
	Model   string `json:"model,omitempty"`
	Decoder string `json:"decoder,omitempty"`
	// Image is the image to reconstruct, encode or edit.
	Image []byte `json:"image,omitempty"`
	// A and B are /interpolate's ends as images, ZA and ZB as latents.
	A  []byte    `json:"a,omitempty"`
	B  []byte    `json:"b,omitempty"`
	ZA []float32 `json:"za,omitempty"`
	ZB []float32 `json:"zb,omitempty"`
	// Steps is /interpolate's number of frames, both ends included; Path "linear" or
	// "slerp".
	Steps int    `json:"steps,omitempty"`
	Path  string `json:"path,omitempty"`
	// Z holds the latents to decode, or /edit's one latent.
	Z [][]float32 `json:"z,omitempty"`
	// N and Seed are /sample's number of images and the prior's seed.
	N    int    `json:"n,omitempty"`
	Seed *int64 `json:"seed,omitempty"`
	// Attributes are /edit's attribute names and strengths.
	Attributes map[string]float64 `json:"attributes,omitempty"`
}

// Images is the JSON answer of the endpoints that decode images.
type Images struct {
	Model   string `json:"model"`
	Decoder string `json:"decoder"`
	// Path is the path /interpolate took.
	Path string `json:"path,omitempty"`
	// Seed is the seed /sample drew with.
	Seed *int64 `json:"seed,omitempty"`
	// Images are base64 PNGs, one per latent.
	Images []string `json:"images"`
	// Z holds the latents decoded.
	Z [][]float32 `json:"z"`
}

// Encoding is the answer of POST /encode: the image's latent, and for Gaussian encoders
// the posterior's mean and log-variance.
type Encoding struct {
	Model      string    `json:"model"`
	LatentKind string    `json:"latent_kind"`
	Z          []float32 `json:"z"`
	Mu         []float32 `json:"mu,omitempty"`
	LogVar     []float32 `json:"logvar,omitempty"`
}

// Attribute describes one of a model's attribute directions.
type Attribute struct {
	Name        string  `json:"name"`
	Kind        string  `json:"kind"`
	Description string  `json:"description"`
	With        int     `json:"with"`
	Without     int     `json:"without"`
	Norm        float64 `json:"norm"`
}

// ModelSummary describes a served model in GET /models.
type ModelSummary struct {
	Name        string   `json:"name"`
	Family      string   `json:"family"`
	Dataset     string   `json:"dataset"`
	Resolution  int      `json:"resolution"`
	Channels    int      `json:"channels"`
	LatentSize  int      `json:"latent_size"`
	LatentKind  string   `json:"latent_kind"`
	Reconstruct string   `json:"reconstruct"`
	Sample      string   `json:"sample"`
	Decoders    []string `json:"decoders"`
	Default     bool     `json:"default"`
	// Attributes are the directions /edit takes, classes first.
	Attributes []Attribute `json:"attributes"`
}

// ModelList is the answer of GET /models.
type ModelList struct {
	Default string         `json:"default"`
	Models  []ModelSummary `json:"models"`
}

// Tensor describes a graph's input or output; -1 marks a dynamic dimension.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
}

// Graph describes one open graph of a model.
type Graph struct {
	Provider string   `json:"provider"`
	Inputs   []Tensor `json:"inputs"`
	Outputs  []Tensor `json:"outputs"`
}

// ModelDetail is the answer of GET /models/{name}.
type ModelDetail struct {
	ModelSummary
	Manifest *zoo.Manifest    `json:"manifest"`
	Graphs   map[string]Graph `json:"graphs"`
}

// Example is one test image in GET /models/{name}/examples.
type Example struct {
	Index int    `json:"index"`           // in the data set's test split
	Label string `json:"label,omitempty"` // the class, if the data set has classes
	Image string `json:"image"`           // base64 PNG at the model's resolution
}

// Examples is the answer of GET /models/{name}/examples.
type Examples struct {
	Model    string    `json:"model"`
	Dataset  string    `json:"dataset"`
	Split    string    `json:"split"`
	Examples []Example `json:"examples"`
}

// Loaded is the answer of POST /models/{name}/load.
type Loaded struct {
	Loaded   string       `json:"loaded"`
	Replaced bool         `json:"replaced"`
	Model    ModelSummary `json:"model"`
}

// Status is the answer of GET /healthz and GET /readyz; Models lists the served models
// when ready.
type Status struct {
	Status string   `json:"status"`
	Models []string `json:"models,omitempty"`
}

// ZooEntry is an entry in the answer of GET /zoo/v1/entries.
type ZooEntry struct {
	Name     string `json:"name"`
	Source   string `json:"source"` // "local" or "builtin"
	Manifest string `json:"manifest"`
}

// ZooEntries is the answer of GET /zoo/v1/entries.
type ZooEntries struct {
	Entries []ZooEntry `json:"entries"`
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
}
