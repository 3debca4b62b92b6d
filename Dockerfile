# nightshift image: the CLI, the demo job specs and the demo data (for the compose `seed`).
# Node 22 (LTS; the AWS SDK's releases after early January 2027 need Node >= 22), non-root,
# onnxruntime binaries for this platform only. Mount or bake your own jobs/ and models.

# --- build: compile, generate the demo model and data, keep production dependencies only ---
FROM node:22.20.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY scripts ./scripts
RUN npm run build \
 && npx tsx scripts/make-demo.ts \
 && npm prune --omit=dev --no-audit --no-fund
# onnxruntime-node ships binaries for every OS and CPU; keep this image's (linux, its arch).
ARG TARGETARCH
RUN arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in amd64) arch=x64 ;; esac; \
    cd node_modules/onnxruntime-node/bin/napi-v* \
 && rm -rf darwin win32 \
 && find linux -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
 && ls -R . | head -20

# --- runtime ---
FROM node:22.20.0-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production NIGHTSHIFT_JOBS_DIR=/app/jobs
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/data ./data
COPY scripts/seed-s3.mjs ./scripts/seed-s3.mjs
COPY jobs ./jobs
# The image's own user (uid 1000), not root: nothing here needs to write outside /tmp.
USER node
ENTRYPOINT ["node", "/app/bin/nightshift.js"]
CMD ["--help"]
