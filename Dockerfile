# syntax=docker/dockerfile:1
# Vigil's image: the `vigil` CLI (hub, agent, router) on the current Node LTS, slim, non-root, and
# friendly to a read-only root filesystem (it writes only under /var/lib/vigil, a volume).
#
#   docker build -t vigil .
#   docker run --read-only -v vigil-data:/var/lib/vigil -v $PWD/vigil.yaml:/etc/vigil/vigil.yaml:ro -p 7979:7979 vigil
#
# Not built on the machine this repository is developed on (it has no Docker engine): the test
# deploy/dockerfile.test.ts parses it and checks what it must keep (README, "Running in production").
# The base is pinned to an exact Node release; pin it by digest too (node:24.11.1-bookworm-slim@sha256:…)
# where your registry policy asks for it.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# ---- build: the whole workspace, as CI builds it (TypeScript, the dashboard's assets) ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY packages/vigil/package.json packages/vigil/
COPY packages/serve/package.json packages/serve/
COPY examples/model-server/package.json examples/model-server/
COPY examples/demo/package.json examples/demo/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# ---- deps: the vigil package's production dependencies only ----
FROM build AS deps
RUN rm -rf node_modules \
 && npm ci --omit=dev --workspace packages/vigil --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    VIGIL_HOST=0.0.0.0 \
    VIGIL_PORT=7979 \
    VIGIL_CONFIG=/etc/vigil/vigil.yaml \
    VIGIL_STORE=/var/lib/vigil/vigil.db
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/packages/vigil/package.json /src/packages/vigil/vigil.schema.json /src/packages/vigil/baseline.schema.json ./packages/vigil/
COPY --from=build /src/packages/vigil/bin ./packages/vigil/bin
COPY --from=build /src/packages/vigil/dist ./packages/vigil/dist
COPY --from=build /src/packages/vigil/specs ./packages/vigil/specs
RUN mkdir -p /var/lib/vigil /etc/vigil && chown 1000:1000 /var/lib/vigil
# The image's `node` user (uid 1000), by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/var/lib/vigil"]
EXPOSE 7979
# The flags of bin/vigil.js's shebang (V8 heap growth and single-threaded GC; BENCHMARKS.md), which an
# ENTRYPOINT that runs node itself would otherwise drop.
ENTRYPOINT ["node", "--heap-growing-percent=50", "--single-threaded-gc", "/app/packages/vigil/bin/vigil.js"]
CMD ["run"]
# No curl in a slim image: node's fetch asks /livez (the process answers).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.VIGIL_PORT||7979)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
