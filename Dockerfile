# nightshift image: the CLI with its jobs/ folder. Mount or bake your own jobs/ and models.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev
COPY jobs ./jobs
ENV NODE_ENV=production NIGHTSHIFT_JOBS_DIR=/app/jobs
ENTRYPOINT ["node", "/app/bin/nightshift.js"]
CMD ["--help"]
