// Pins go-containerregistry's in-memory registry, served by main.go with the OCI 1.1 referrers API on,
// used by e2e tests for the referrers-API discovery path (the distribution registry lacks it).
module shipshape.dev/hack/tools/referrers-registry

go 1.26.0

require github.com/google/go-containerregistry v0.22.1
