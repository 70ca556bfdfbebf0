/// <reference types="vitest/config" />
// Vite builds the dashboard into dist/ (served by `python -m finmesh.devserver`, see
// README.md); Vitest runs the component tests in jsdom. The protobuf-es types in ../gen/ts
// live outside this package, so their `@bufbuild/protobuf` imports are mapped to ours.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@gen\/(.*)$/, replacement: here("../gen/ts/$1") },
      { find: /^@bufbuild\/protobuf$/, replacement: here("./node_modules/@bufbuild/protobuf/dist/esm/index.js") },
      { find: /^@bufbuild\/protobuf\/(.*)$/, replacement: here("./node_modules/@bufbuild/protobuf/dist/esm/$1/index.js") },
    ],
  },
  // JSX without @vitejs/plugin-react: esbuild's automatic runtime.
  esbuild: { jsx: "automatic" },
  // `npm run dev` (hot reload) on :5174 next to a running stack: the API goes to Envoy,
  // sign-in and config to finmesh.devserver on :5173.
  server: {
    port: 5174,
    strictPort: true,
    fs: { allow: [here("..")] },
    proxy: {
      "/v1": process.env.FINMESH_ENVOY_URL ?? "http://127.0.0.1:8080",
      "/dev": "http://127.0.0.1:5173",
      "/config.json": "http://127.0.0.1:5173",
    },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  test: {
    environment: "jsdom",
    globals: true,
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
  },
});
