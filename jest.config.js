// Three projects. unit: the code alone, on any machine, in parallel workers. env: tests that need
// something of the machine (root, nginx, arping, chromium, promtool, systemd tools), gated by
// test/helpers/needs.ts so that they show as skipped with the reason when it is missing. e2e: the
// lab (network namespaces, root), one lab per file, run in band.
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] };
module.exports = {
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
    { displayName: 'env', testMatch: ['<rootDir>/test/env/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
    { displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
  ],
};
