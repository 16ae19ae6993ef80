// Package serve is latentzoo's HTTP server: it opens the graphs of zoo entries in ONNX
// Runtime once and answers reconstruct, interpolate, encode, decode and sample requests
// with them (through package autoencoder), as the API description in API.md says; the
// types of its answers are package api's.
//
// The server follows each entry's manifest alone (resolution, channels, latent size and
// kind, which graph reconstructs and samples), so every family is served by the same code.
// Every input is bounded: the body by Config.MaxBodyBytes, images by their header before
// any pixel is decoded, batches and interpolation steps by Config.MaxBatch and
// Config.MaxSteps, and the requests worked on at once by Config.MaxInFlight.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/latentzoo/latentzoo/api"
	"github.com/latentzoo/latentzoo/web"
	"github.com/latentzoo/latentzoo/zoo"
)

// Config configures a Server. Zero fields take the defaults documented on each.
type Config struct {
	// Addr is the TCP address ListenAndServe listens on; default "127.0.0.1:8080".
	Addr string
	// DefaultModel names the model that serves requests naming none; default the first.
	DefaultModel string
	// Device is where ONNX Runtime runs the graphs: "cpu" (default) or "cuda".
	Device string
	// IntraOpThreads is the number of threads one ONNX Runtime operator may use; 0 lets
	// ONNX Runtime choose.
	IntraOpThreads int
	// MaxBodyBytes limits a request body; default 8 MiB. Larger bodies get 413.
	MaxBodyBytes int64
	// MaxImageSide and MaxImagePixels limit an uploaded image's width or height and its
	// area, read from its header before decoding; defaults 4096 and 16,000,000.
	MaxImageSide, MaxImagePixels int
	// MaxBatch limits the latents of one /decode and the images of one /sample; default 64.
	MaxBatch int
	// MaxSteps limits the frames of one /interpolate; default 64.
	MaxSteps int
	// MaxInFlight limits the inference requests worked on at once, from reading their body
	// on; others wait. Default twice GOMAXPROCS, or 4 × BatchSize with dynamic batching,
	// so that enough requests reach the batcher to fill its runs.
	MaxInFlight int
	// BatchSize turns on dynamic batching: concurrent runs of a graph are gathered into
	// one ONNX Runtime run of up to BatchSize examples. 0 or 1 runs every request alone.
	BatchSize int
	// BatchDelay is how long a batch waits for more requests once it has one; 0 (the
	// default) takes those already waiting and runs at once, so a lone request never
	// waits.
	BatchDelay time.Duration
	// QueueSize bounds the requests waiting for one graph's batches; beyond it they get
	// 503. Default 16 × BatchSize.
	QueueSize int
	// ShutdownTimeout bounds how long ListenAndServe waits for requests in progress when
	// its context ends; default 10s.
	ShutdownTimeout time.Duration
	// DrainPeriod is how long the server goes on serving once its context ends, with
	// /readyz answering 503 and keep-alive turned off, so that a load balancer notices and
	// sends new requests elsewhere before the listener closes; 0 closes it at once.
	DrainPeriod time.Duration
	// Logger receives the request log and errors; default slog.Default().
	Logger *slog.Logger
	// Version names the server's code in GET /v2.
	Version string
	// AdminToken, when set, is the bearer token that routes changing what is served
	// (POST /models/{name}/load) require; without it they answer loopback clients only.
	AdminToken string
	// Store is the local zoo store. With it, the server lends its entries and the
	// built-in ones read-only under /zoo/v1 for other latentzoo processes to pull, and
	// POST /models/{name}/load serves one of them without a restart. Without it, neither
	// route exists.
	Store *zoo.Store
}

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 8 << 20
	}
	if c.MaxImageSide <= 0 {
		c.MaxImageSide = 4096
	}
	if c.MaxImagePixels <= 0 {
		c.MaxImagePixels = 16_000_000
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.MaxSteps <= 0 {
		c.MaxSteps = 64
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 2 * runtime.GOMAXPROCS(0)
		if c.BatchSize > 1 {
			c.MaxInFlight = max(c.MaxInFlight, 4*c.BatchSize)
		}
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server serves the models of some zoo entries over HTTP.
type Server struct {
	cfg      Config
	log      *slog.Logger
	mu       sync.RWMutex // guards models and def, which loads change
	models   []*model     // in the order given to New, then loaded
	def      *model
	loading  sync.Mutex     // one load at a time
	retired  sync.WaitGroup // replaced models not yet closed
	metrics  *metrics
	slots    chan struct{} // one token per inference request in progress
	draining atomic.Bool   // set when shutdown begins: /readyz fails
	handler  http.Handler
}

// New opens the graphs of every entry and returns a server for them. The default model is
// cfg.DefaultModel, or the first entry. Close releases the graphs.
func New(cfg Config, entries ...zoo.Entry) (_ *Server, err error) {
	cfg = cfg.withDefaults()
	if len(entries) == 0 {
		return nil, errors.New("serve: no models to serve")
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		metrics: newMetrics(),
		slots:   make(chan struct{}, cfg.MaxInFlight),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	for _, e := range entries {
		m, err := s.open(e)
		if err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		if s.exact(m.Name()) != nil {
			return nil, errors.Join(fmt.Errorf("serve: model %s given twice", m.Name()), m.Close())
		}
		s.models = append(s.models, m)
	}
	s.def = s.models[0]
	if cfg.DefaultModel != "" {
		if s.def = s.lookup(cfg.DefaultModel); s.def == nil {
			return nil, fmt.Errorf("serve: default model %q is not among the models served (%s)", cfg.DefaultModel, strings.Join(s.modelNames(), ", "))
		}
	}
	s.handler = s.routes()
	return s, nil
}

// lookup finds a served model by name, or returns nil. Names compare in their canonical
// form, so "vae/mnist" is "vae/mnist:latest"; a name whose tag is zoo.DefaultTag that no
// served model carries picks the served model of that family and data set, if there is
// just one.
func (s *Server) lookup(name string) *model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.find(name)
}

// find is lookup with s.mu held, or before the server is shared.
func (s *Server) find(name string) *model {
	if m := s.exact(name); m != nil {
		return m
	}
	want, err := zoo.ParseName(name)
	if err != nil || want.Tag != zoo.DefaultTag {
		return nil
	}
	var found []*model
	for _, m := range s.models {
		if got, err := zoo.ParseName(m.name); err == nil && got.Family == want.Family && got.Dataset == want.Dataset {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

// exact finds the served model called name, comparing canonical forms, or returns nil;
// s.mu held, or before the server is shared.
func (s *Server) exact(name string) *model {
	want := canonical(name)
	for _, m := range s.models {
		if canonical(m.name) == want {
			return m
		}
	}
	return nil
}

// canonical is the canonical form of an entry name, or the name itself if it is none.
func canonical(name string) string {
	if n, err := zoo.ParseName(name); err == nil {
		return n.String()
	}
	return name
}

func (s *Server) modelNames() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, len(s.models))
	for i, m := range s.models {
		names[i] = m.name
	}
	return names
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Close releases the ONNX Runtime sessions of every model. The server must not be serving.
func (s *Server) Close() error {
	s.retired.Wait()
	var errs []error
	for _, m := range s.models {
		errs = append(errs, m.Close())
	}
	s.models = nil
	return errors.Join(errs...)
}

// ListenAndServe serves on cfg.Addr until ctx ends; then /readyz fails at once, the
// server goes on serving for cfg.DrainPeriod (each answer closing its connection), stops
// accepting connections, and waits up to cfg.ShutdownTimeout for requests in progress.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on a listener the caller opened; it closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "models", s.modelNames(), "default", s.def.Name())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	if d := s.cfg.DrainPeriod; d > 0 {
		// New connections are still taken and answered, but each answer now closes its
		// connection (closeWhenDraining), so that clients reconnect to a server that stays.
		// Idle connections are left open until the end: closing one under a client that
		// is sending on it would fail that request.
		s.log.Info("draining", "period", d)
		select {
		case <-time.After(d):
		case err := <-done:
			return fmt.Errorf("serve: %w", err)
		}
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// routes builds the router.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.instrument, s.recoverPanics, s.closeWhenDraining, middleware.GetHead)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, noRoute(r))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		var allowed []string
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if r.Match(chi.NewRouteContext(), method, req.URL.Path) {
				allowed = append(allowed, method)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, api.ErrorBody{Error: fmt.Sprintf("method %s not allowed on %s (allowed: %s)", req.Method, req.URL.Path, strings.Join(allowed, ", "))})
	})
	s.storeRoutes(r)
	s.oipRoutes(r)
	s.debugRoutes(r)
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", s.metrics)
	r.Get("/openapi.json", s.openAPI)
	r.Get("/models", s.listModels)
	r.Get("/models/*", s.showModel)
	r.Get(examplesPath, s.examples)
	r.Get(picturesPath, s.picture)
	page := web.Handler()
	r.Get("/", page.ServeHTTP)
	r.Get("/assets/*", page.ServeHTTP)
	r.Post("/reconstruct", s.api("/reconstruct", s.reconstruct, fieldModel, fieldImage, fieldDecoder))
	r.Post("/encode", s.api("/encode", s.encode, fieldModel, fieldImage))
	r.Post("/decode", s.api("/decode", s.decode, fieldModel, fieldZ, fieldDecoder))
	r.Post("/interpolate", s.api("/interpolate", s.interpolate, fieldModel, fieldA, fieldB, fieldZA, fieldZB, fieldSteps, fieldPath, fieldDecoder))
	r.Post("/sample", s.api("/sample", s.sample, fieldModel, fieldN, fieldSeed, fieldDecoder))
	r.Post("/edit", s.api("/edit", s.edit, fieldModel, fieldImage, fieldZ, fieldAttributes, fieldDecoder))
	return r
}
