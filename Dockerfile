# The Kensus agent image: the CLI, its signatures and the tracker; runs sweeps (CronJob),
# on-demand scans and `kensus serve` (admission webhook, metrics, web page).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY signatures ./signatures
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production KENSUS_LOG_LEVEL=info
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Read at run time from src/ (tsc does not copy them to dist/): the containerd API's gRPC
# definitions and the licensing data (core factors, GPU SKUs, NVAIE products).
COPY src/sources/containerd-proto ./src/sources/containerd-proto
COPY src/licensing/data ./src/licensing/data
COPY package.json ./
COPY bin ./bin
COPY signatures ./signatures
COPY tracker ./tracker
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/kensus.js"]
CMD ["serve", "--host", "0.0.0.0"]
