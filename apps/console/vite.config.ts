// The auditor console: built into dist/console and served by the API at /console (no dev server needed).
// JSX goes through esbuild's automatic runtime (no Babel plugin); @app/client is the repository's typed client.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/console/',
  publicDir: false,
  resolve: { alias: { '@app/client': here('../../libs/client/src/index.ts') } },
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: here('../../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    // The CSP allows no inline script or style: Vite's module preload polyfill stays out.
    modulePreload: { polyfill: false },
    // ECharts is tree-shaken but still the largest part: a chunk of its own, cached across releases.
    rollupOptions: {
      output: {
        manualChunks: { echarts: ['echarts/core', 'echarts/charts', 'echarts/components', 'echarts/renderers'] },
      },
      // TanStack Query's "use client" directives mean nothing without server components.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
    chunkSizeWarningLimit: 800,
    reportCompressedSize: false,
  },
});
