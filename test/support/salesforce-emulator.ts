/** The old import path of the Salesforce emulator, kept for tests written before it moved to salesforce/. */
export * from './salesforce/emulator.js';
