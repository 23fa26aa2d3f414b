import { defineConfig } from "vitest/config";

// Every JS test lives in js/tests/ (the sources in js/src/ hold no tests).
export default defineConfig({ test: { include: ["tests/**/*.test.ts"], environment: "node" } });
