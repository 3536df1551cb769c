import { defineConfig } from 'vite';

// The build lands in dist/, which frontend.go embeds (//go:embed all:dist).
// No inline scripts: the server's CSP is script-src 'self'.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` proxies the APIs to a local `prophasis serve`.
    proxy: {
      '/manage': 'http://127.0.0.1:4048',
      '/api': 'http://127.0.0.1:4048',
    },
  },
});
