/** On Firebase a use case's secrets are the functions' bound secrets alone (issue 9, item 12). */
import { describe, expect, it } from 'vitest';
import { createFirebasePorts } from './ports.js';

describe("a use case's secrets on the firebase runtime", () => {
  it('defect (issue 9, item 12): a variable of the functions environment is no secret store, even named SERAPHIM_SECRET_<NAME>', () => {
    const { config } = createFirebasePorts({
      env: {
        HOME: '/home/fn',
        SERAPHIM_SECRET_PARTNER_TOKEN: 'set-in-the-env-only',
        SERAPHIM_SECRET_PARTNER_TOKEN_WORKSPACES: '*',
      },
    });
    for (const name of ['HOME', 'PARTNER_TOKEN']) {
      expect(config.useCaseSecrets.refusal(name, 'demo'), name).toContain(`Secret ${name} is not declared`);
      expect(() => config.useCaseSecrets.read(name, 'demo'), name).toThrow(/is not declared/);
    }
  });
});
