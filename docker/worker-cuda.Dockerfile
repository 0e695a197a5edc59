# syntax=docker/dockerfile:1
# The CUDA worker: an NVIDIA CUDA 12 runtime (with cuDNN 9) and Node 20; onnxruntime-node is
# installed with its CUDA execution provider (its install script run with
# ONNXRUNTIME_NODE_INSTALL=cuda12, downloading the provider at build time). Run with a GPU: docker compose --profile cuda up
#   docker build -f docker/worker-cuda.Dockerfile -t vmm/worker-cuda .
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM node:20-slim AS node

FROM ${CUDA_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s /usr/local/lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /app
COPY package.json package-lock.json .npmrc turbo.json tsconfig.base.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY scripts ./scripts
COPY packages ./packages
COPY apps ./apps
COPY bench ./bench
# The root package.json's allowScripts keeps onnxruntime-node's install script from running (CPU
# binaries ship in the package; the CUDA ones are a download): here it is run on purpose.
RUN npm ci \
 && ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js \
 && npx turbo run build --filter=@vmm/worker \
 && npm prune --omit=dev

FROM ${CUDA_IMAGE}
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN useradd --create-home --uid 10001 vmm
WORKDIR /app
ENV NODE_ENV=production VMM_BACKEND=cuda VMM_GRPC_HOST=0.0.0.0 VMM_GRPC_PORT=50051 VMM_MODELS_DIR=/models
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
COPY --from=build /app/proto ./proto
USER vmm
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["node", "apps/worker/dist/healthcheck.js"]
# A fixed young generation keeps the worker's memory flat from its first requests (apps/worker/README.md).
CMD ["node", "--min-semi-space-size=16", "apps/worker/dist/main.js"]
