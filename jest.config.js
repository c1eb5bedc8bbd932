// Two projects: unit tests run in parallel workers; e2e tests share one lab per file and run in band.
const tsJest = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] };
module.exports = {
  projects: [
    { displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
    { displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'], transform: tsJest, testEnvironment: 'node' },
  ],
};
