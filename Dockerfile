# syntax=docker/dockerfile:1.7
# Sortie Recording: the service (compiled to JavaScript) and the web pages it serves.
#   docker build -t sortie-recording .
#   docker run -p 3000:3000 -e SORTIE_AUTH_JWT_SECRET=... -e SORTIE_VIDEO_RECORDING_ENABLED=true sortie-recording
# Stage 1 installs the whole workspace and builds; stage 2 keeps only the
# server's production dependencies, its compiled dist/ and apps/web/dist.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
# The version of the root package.json's packageManager. npm, not corepack:
# corepack's signature check fails against some registries.
ARG PNPM_VERSION=10.34.8
RUN npm install -g pnpm@${PNPM_VERSION}
WORKDIR /src

# Manifests first, so that the dependency layer is reused while only sources change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY apps/server/package.json apps/server/
COPY apps/web/package.json apps/web/
COPY packages/contract/package.json packages/contract/
COPY packages/webm/package.json packages/webm/
COPY packages/recorder/package.json packages/recorder/
COPY packages/verify/package.json packages/verify/
COPY e2e/package.json e2e/
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile

COPY tsconfig.base.json ./
COPY apps/server apps/server
COPY apps/web apps/web
COPY packages/contract packages/contract
COPY packages/webm packages/webm
COPY packages/recorder packages/recorder
# The SDK (its npm package, also published by the release workflow), the pages
# (they bundle the SDK from source), and the service compiled by tsc.
RUN pnpm --filter @sortie/recorder build \
 && pnpm --filter @sortie/web build \
 && pnpm --filter @sortie/server build:dist \
 && pnpm --filter @sortie/server deploy --prod --legacy /out/server

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0 \
    SORTIE_DATA_DIR=/data/sortie \
    SORTIE_RECORDING_STORAGE_PATH=/data/recordings
WORKDIR /app/apps/server
# server.ts finds the pages at ../../web/dist/ from its own file: keep the monorepo's shape.
COPY --from=build /out/server/package.json ./package.json
COPY --from=build /out/server/node_modules ./node_modules
COPY --from=build /out/server/dist ./dist
COPY --from=build /src/apps/web/dist /app/apps/web/dist
# /data holds the local backend's recordings (a volume or a PVC) and, without
# DATABASE_URL, the embedded database. Owned by the unprivileged "node" user (1000).
RUN mkdir -p /data/recordings /data/sortie && chown -R 1000:1000 /data
VOLUME ["/data"]
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (graceful drain, then exit 0).
# Migrations: `node dist/db/migrate-cli.js` (the Helm chart's pre-upgrade Job).
CMD ["node", "--enable-source-maps", "dist/index.js"]
