# syntax=docker/dockerfile:1
# The OpenVINO worker: Node 22 (openvino-node needs Node >= 21) with openvino-node, which
# downloads the OpenVINO runtime when installed. Intel GPUs need /dev/dri (compose profile
# openvino maps it).   docker build -f docker/worker-openvino.Dockerfile -t vmm/worker-openvino .
ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc turbo.json tsconfig.base.json buf.yaml buf.gen.yaml ./
COPY proto ./proto
COPY scripts ./scripts
COPY packages ./packages
COPY apps ./apps
COPY bench ./bench
RUN npm ci \
 && npx turbo run build --filter=@vmm/worker \
 && npm prune --omit=dev \
 && npm install --no-save --allow-scripts=openvino-node openvino-node

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production VMM_BACKEND=openvino VMM_OPENVINO_DEVICE=AUTO VMM_GRPC_HOST=0.0.0.0 VMM_GRPC_PORT=50051 VMM_MODELS_DIR=/models
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
COPY --from=build /app/proto ./proto
USER node
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["node", "apps/worker/dist/healthcheck.js"]
# A fixed young generation keeps the worker's memory flat from its first requests (apps/worker/README.md).
CMD ["node", "--min-semi-space-size=16", "apps/worker/dist/main.js"]
