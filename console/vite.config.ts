// The web console's build (npm run build:console): a static app served by the hub under /console/.
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  define: { __VUE_PROD_DEVTOOLS__: false, __VUE_OPTIONS_API__: false },
});
