// The contract violations that hooks in socket and broker handlers recorded (event-contract.ts):
// kept apart from the validator so that setup.ts, which every test file loads, does not load ajv.
const violations: string[] = [];

export function recordContractViolation(message: string): void {
  violations.push(message);
}

/** The violations recorded since the last call (and forgets them). */
export function takeContractViolations(): string[] {
  return violations.splice(0);
}
