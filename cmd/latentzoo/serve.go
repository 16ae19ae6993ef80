package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/latentzoo/latentzoo/infer"
	"github.com/latentzoo/latentzoo/serve"
	"github.com/latentzoo/latentzoo/zoo"
)

func init() {
	register("serve", "serve models over HTTP (reconstruct, interpolate, sample, ...)", runServe)
}

// names is a flag that may be given several times.
type names []string

func (n *names) String() string { return strings.Join(*n, ",") }

func (n *names) Set(v string) error {
	*n = append(*n, v)
	return nil
}

// runServe resolves the models, opens them in ONNX Runtime and serves them until SIGINT or
// SIGTERM, then lets the requests in progress finish.
func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serve.Config
	var models names
	var ortLib string
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "`address` to listen on")
	fs.Var(&models, "model", "entry `name` to serve, family/dataset[:tag]; repeat for more; the first is the default (default: every built-in entry, "+defaultBuiltin+" first)")
	fs.StringVar(&cfg.DefaultModel, "default", "", "entry `name` that serves requests naming no model (default: the first served)")
	fs.StringVar(&cfg.Device, "device", infer.DeviceCPU, "where ONNX Runtime runs: cpu or cuda (falls back to cpu, with a warning, when CUDA does not load)")
	fs.StringVar(&ortLib, "ort-lib", "", "`path` of libonnxruntime.so (default: $"+infer.EnvLibrary+", else .deps/onnxruntime/ above the working directory or the binary)")
	// One thread per operator: requests run side by side, and ONNX Runtime's own pool
	// competes with them for the cores (see serve/API.md, "Performance").
	fs.IntVar(&cfg.IntraOpThreads, "threads", 1, "threads per ONNX Runtime operator (0: ONNX Runtime chooses)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body", 8<<20, "largest request body in `bytes`")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", 0, "inference requests worked on at once; others wait (0: twice the CPUs, or 4 × --batch-size when batching)")
	fs.IntVar(&cfg.BatchSize, "batch-size", 32, "dynamic batching: gather up to this many examples of concurrent requests into one ONNX Runtime run (0 or 1: off)")
	fs.DurationVar(&cfg.BatchDelay, "batch-delay", 0, "dynamic batching: how long a batch waits for more requests (0: it takes those already waiting, so a lone request never waits)")
	fs.IntVar(&cfg.QueueSize, "queue", 0, "dynamic batching: requests that may wait for one graph before the next gets 503 (0: 16 × --batch-size)")
	fs.StringVar(&cfg.AdminToken, "admin-token", os.Getenv(serve.EnvAdminToken), "bearer token that POST /models/{name}/load needs (default $"+serve.EnvAdminToken+"); without one, that route answers loopback clients only")
	fs.DurationVar(&cfg.DrainPeriod, "drain", 0, "on SIGTERM, go on serving this long with /readyz at 503 before closing the listener (give a load balancer time to notice)")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "least level logged: DEBUG logs every request, INFO (default) start-up, loads and warnings, ERROR failures only")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: latentzoo serve [flags]\n\nServes zoo entries over HTTP; see serve/API.md for the endpoints. Names resolve\nin the local store ($LATENTZOO_HOME, by default ~/.latentzoo), then among the\nbuilt-in entries.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if cfg.Device != infer.DeviceCPU && cfg.Device != infer.DeviceCUDA {
		return fmt.Errorf("--device %q: want %s or %s", cfg.Device, infer.DeviceCPU, infer.DeviceCUDA)
	}
	if err := infer.Init(ortLib); err != nil {
		return err
	}
	entries, err := resolveModels(models)
	if err != nil {
		return err
	}
	cfg.Version = version
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The store lends its entries under /zoo/v1 and loads them on POST /models/{name}/load.
	if cfg.Store, err = openStore(); err != nil {
		return err
	}
	srv, err := serve.New(cfg, entries...)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return errors.Join(srv.ListenAndServe(ctx), srv.Close())
}

// defaultBuiltin is the entry served by default when no --model is named.
const defaultBuiltin = "vae/fashion-mnist:v1"

// resolveModels finds the named entries in the local store, then among the built-in ones;
// with no names, it returns every built-in autoencoder, defaultBuiltin first.
func resolveModels(list []string) ([]zoo.Entry, error) {
	if len(list) == 0 {
		all, err := zoo.Builtin()
		if err != nil {
			return nil, err
		}
		// The built-in yardsticks are classifiers, which the image endpoints do not serve.
		entries := zoo.Autoencoders(all)
		if len(entries) == 0 {
			return nil, errors.New("this binary has no built-in entries: name one with --model")
		}
		// The first is the default: the VAE, the zoo's reference, where it is built in.
		if i := slices.IndexFunc(entries, func(e zoo.Entry) bool { return e.Manifest().Name == defaultBuiltin }); i > 0 {
			entries = append(append([]zoo.Entry{entries[i]}, entries[:i]...), entries[i+1:]...)
		}
		return entries, nil
	}
	home, err := zoo.DefaultHome()
	if err != nil {
		return nil, err
	}
	store, err := zoo.OpenStore(home)
	if err != nil {
		return nil, err
	}
	var entries []zoo.Entry
	for _, s := range list {
		n, err := zoo.ParseName(s)
		if err != nil {
			return nil, fmt.Errorf("--model: %w", err)
		}
		e, err := store.Resolve(n)
		if err != nil {
			return nil, fmt.Errorf("--model %s: %w", s, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}
