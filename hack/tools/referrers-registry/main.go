// Command referrers-registry serves go-containerregistry's in-memory OCI registry with the
// OCI 1.1 referrers API (GET /v2/<name>/referrers/<digest>) switched on, for e2e tests of
// signature discovery; the distribution registry does not implement that API.
// It listens on loopback only and prints "listening on <host:port>" once it accepts connections,
// so a test can ask for port 0 and read the port it got.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback host:port to listen on")
	quiet := flag.Bool("quiet", false, "do not log every request")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "referrers-registry: bad -addr %q: %v\n", *addr, err)
		os.Exit(2)
	}
	// A test registry holds whatever is pushed to it, unauthenticated: never expose it.
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "referrers-registry: -addr %q is not a loopback IP address\n", *addr)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "referrers-registry: listen %s: %v\n", *addr, err)
		os.Exit(1)
	}
	logger := log.New(os.Stderr, "referrers-registry: ", log.LstdFlags)
	if *quiet {
		logger = log.New(io.Discard, "", 0)
	}
	handler := registry.New(registry.WithReferrersSupport(true), registry.Logger(logger))
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("listening on %s\n", ln.Addr().String())
	if err := server.Serve(ln); err != nil {
		fmt.Fprintf(os.Stderr, "referrers-registry: %v\n", err)
		os.Exit(1)
	}
}
