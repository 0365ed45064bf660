# syntax=docker/dockerfile:1
# Shipshape operator image, built the way Shipshape checks images: bases pinned
# by digest, a distroless non-root runtime with no shell or package manager,
# only production files, a numeric USER, and a health check.
#   docker build -t shipshape:dev .      (or: make docker-build)

# --- build: install exactly the lockfile, compile src/ only, drop dev deps ---
FROM node:24-bookworm-slim@sha256:a9f5f7c91a432850b2a8a7797adf5eadb6c733ceed61167806cee7ea7fbc29df AS build
WORKDIR /src
ENV npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./
# --ignore-scripts: no install script runs at build time. The `node` devDependency
# only pins Node for the test suite (its install script would download a second
# Node); this base already has Node 24, so we call it explicitly below.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts

# --- runtime: distroless Node 24, non-root (uid/gid 65532), read-only friendly ---
FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="shipshape" \
      org.opencontainers.image.description="Kubernetes security operator: container security best practice as policy, checked continuously." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
WORKDIR /app
# Files stay owned by root: the process (65532) can read but never modify its own code.
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
ENV NODE_ENV=production
USER 65532:65532
# 8080 /metrics, 8081 /healthz and /readyz, 9443 admission webhook (HTTPS)
EXPOSE 8080 8081 9443
# Distroless has no shell or curl, so Node itself probes the liveness endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node","-e","fetch('http://127.0.0.1:8081/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "/app/dist/src/cli/main.js"]
CMD ["operator"]
