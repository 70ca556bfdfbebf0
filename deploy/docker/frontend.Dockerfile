# syntax=docker/dockerfile:1
# The dashboard: `npm run build` (Vite) in a Node 20 stage, the static `dist/` served by nginx on
# 5173 (single-page app: unknown paths fall back to index.html).
#
#   docker build -f deploy/docker/frontend.Dockerfile -t finmesh/frontend .   # from the repo root
#
# The browser calls the API on Envoy (http://localhost:8080 by default); Envoy's CORS policy allows
# the origins http://localhost:5173 and http://127.0.0.1:5173, so publish this on host port 5173.
FROM node:20-bookworm-slim AS build
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
# Generated TypeScript clients live in gen/ts (imported from the frontend as ../gen/ts).
COPY gen/ts/ /src/gen/ts/
COPY frontend/ ./
RUN npm run build

FROM nginx:1.27-alpine
COPY deploy/docker/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /src/frontend/dist/ /usr/share/nginx/html/
EXPOSE 5173
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5173/"]
