import '../../src/core/polyfills.js';
