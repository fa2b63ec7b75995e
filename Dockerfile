# Image of the upload server: the compiled server as the unprivileged `node` user, data in the /data volume.
# UNTESTED: this image has never been built or run, because the machine the project is developed
# and tested on has no container runtime. Treat it as a starting point and check it before use.
#
#   docker build -t upload-server .
#   docker run -p 1080:1080 -v uploads:/data -e JWT_SECRET=... -e DATABASE_URL=postgres://... upload-server
#
# Migrations run at start; with several replicas run `npm run db:migrate` once first (see
# docs/operations.md).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY . .
# `npm ci` also builds the upload page (the prepare script); dev dependencies are dropped after
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production DATA_DIR=/data PORT=1080 HOST=0.0.0.0
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 1080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||1080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# the compiled bundle from dist/ (built by npm ci), as `npm start` runs it
CMD ["node", "dist/main.js"]
