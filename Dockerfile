# The kensus image: exactly the npm package (`npm pack`: the CLI bundle, signatures, tracker,
# data files, the deploy/ manifests and the certificate Job's script) with its production
# dependencies, on Node 20. One image for every workload of deploy/kubernetes: serve, the
# sweeps, the node agent, the certificate Job.
#
#   docker build -t kensus:0.1.0 .
#   docker build --build-arg BASE_IMAGE=registry.internal/node:20-bookworm-slim -t kensus .
#
# BASE_IMAGE runs it: it needs `node` (>= 20.19); the reports CronJob also runs /bin/sh, date
# and find from it. BUILD_IMAGE (default: the same) builds it: it needs node, npm, tar and the
# npm registry (or a mirror set in its npm config). Non-root (65532) and fine with a read-only
# root filesystem: the only paths kensus writes are $XDG_CACHE_HOME/kensus (the layer cache),
# $XDG_STATE_HOME/kensus (the SQLite store) and /tmp, which the manifests mount as volumes.
ARG BASE_IMAGE=node:20-bookworm-slim
ARG BUILD_IMAGE=${BASE_IMAGE}

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: no production dependency has one, and the build below needs none.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json README.md ./
COPY scripts/build.mjs scripts/
COPY bin bin
COPY src src
COPY signatures signatures
COPY tracker tracker
COPY deploy deploy
COPY docs docs
# `npm pack` runs the build (prepare) and keeps what package.json's `files` lists: the image
# holds the same files as the npm package. Then its production dependencies, at the lockfile's
# versions, from the cache the first install filled.
RUN npm pack --silent --pack-destination /tmp \
 && mkdir -p /app \
 && tar -xzf /tmp/kensus-*.tgz -C /app --strip-components=1 \
 && cp package-lock.json /app/ \
 && cd /app \
 && npm ci --omit=dev --ignore-scripts --offline --no-audit --no-fund \
 && rm -f package-lock.json \
 && mkdir -p /rootfs/usr/local/bin /rootfs/var/cache/kensus /rootfs/var/lib/kensus \
 && chmod 0775 /rootfs/var/cache/kensus /rootfs/var/lib/kensus \
 && ln -s /app/bin/kensus.js /rootfs/usr/local/bin/kensus

FROM ${BASE_IMAGE}
ENV NODE_ENV=production \
    KENSUS_LOG_LEVEL=info \
    XDG_CACHE_HOME=/var/cache \
    XDG_STATE_HOME=/var/lib \
    HOME=/tmp
COPY --from=build /app /app
COPY --from=build /rootfs/usr/local/bin/ /usr/local/bin/
# Owned by the image's user and group 0, group-writable: OpenShift runs images as an arbitrary
# user of group 0. Without volumes (a plain `docker run`) the cache and store land here.
COPY --from=build --chown=65532:0 /rootfs/var/ /var/
USER 65532:0
ENTRYPOINT ["node", "/app/bin/kensus.js"]
CMD ["serve", "--host", "0.0.0.0"]
