import { screen } from '@inquirer/testing/vitest';
import { confirm, input, select } from '@inquirer/prompts';
import { describe, expect, it } from 'vitest';
import { askFailoverAnswers, type CurrentFailover, type WizardPrompts } from '../../src/cli/failover-wizard.js';

const prompts = { confirm, select, input } as WizardPrompts;
const DOWN = { name: 'down' };

const current: CurrentFailover = {
  providers: [
    { name: 'postmark', type: 'postmark' },
    { name: 'mailgun', type: 'mailgun' },
    { name: 'smtp', type: 'smtp' },
  ],
  enabled: true,
  order: ['postmark', 'mailgun', 'smtp'],
  retryAttempts: 3,
  retryDelay: '30s',
};

describe('failover wizard (@inquirer/testing)', () => {
  it('asks every question and offers only providers not yet in the chain', async () => {
    const answers = askFailoverAnswers(prompts, current);

    expect(screen.getScreen()).toContain('Enable failover?');
    screen.keypress('enter'); // default: yes

    await screen.next();
    expect(screen.getScreen()).toContain('Primary provider');
    screen.keypress(DOWN);
    screen.keypress(DOWN);
    screen.keypress('enter'); // smtp

    await screen.next();
    const fallbackScreen = screen.getScreen();
    expect(fallbackScreen).toContain('Fallback provider');
    expect(fallbackScreen).toContain('postmark');
    expect(fallbackScreen).toContain('mailgun');
    expect(fallbackScreen).not.toMatch(/^\s*(❯\s*)?smtp\s*$/m);
    expect(fallbackScreen).not.toContain('end the chain'); // failover on: a fallback is required
    expect(fallbackScreen).toMatch(/❯ mailgun/); // the current fallback is suggested
    screen.keypress('enter');

    await screen.next();
    expect(screen.getScreen()).toContain('Final fallback');
    expect(screen.getScreen()).toContain('end the chain here');
    screen.keypress('enter'); // postmark (the only one left)

    await screen.next();
    expect(screen.getScreen()).toContain('Tries per provider');
    screen.type('11');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('must be a whole number from 1 to 10');
    screen.keypress('backspace');
    screen.keypress('backspace');
    screen.type('4');
    screen.keypress('enter');

    await screen.next();
    expect(screen.getScreen()).toContain('Delay between tries');
    screen.type('soon');
    screen.keypress('enter');
    await screen.next();
    expect(screen.getScreen()).toContain('not a duration');
    for (let i = 0; i < 4; i++) screen.keypress('backspace');
    screen.type('90');
    screen.keypress('enter');

    await expect(answers).resolves.toEqual({ enabled: true, order: ['smtp', 'mailgun', 'postmark'], retryAttempts: 4, retryDelay: '90s', applyToRules: false });
  });

  it('allows ending the chain early, and a single provider when failover is off', async () => {
    const answers = askFailoverAnswers(prompts, current, { retryAttempts: 2, retryDelay: '5s' });
    screen.type('n');
    screen.keypress('enter');

    await screen.next();
    screen.keypress('enter'); // postmark

    await screen.next();
    expect(screen.getScreen()).toContain('end the chain here');
    screen.keypress('up'); // wraps to the last choice: end the chain
    screen.keypress('enter');

    await expect(answers).resolves.toEqual({ enabled: false, order: ['postmark'], retryAttempts: 2, retryDelay: '5s', applyToRules: false });
  });

  it('skips the questions answered by flags', async () => {
    const answers = askFailoverAnswers(prompts, current, { enabled: true, primary: 'mailgun', fallback: 'smtp' });
    expect(screen.getScreen()).toContain('Tries per provider');
    screen.keypress('enter'); // keep 3
    await screen.next();
    screen.keypress('enter'); // keep 30s
    await expect(answers).resolves.toEqual({ enabled: true, order: ['mailgun', 'smtp'], retryAttempts: 3, retryDelay: '30s', applyToRules: false });
  });

  it('rejects with ExitPromptError on Ctrl-C', async () => {
    const answers = askFailoverAnswers(prompts, current);
    screen.keypress({ name: 'c', ctrl: true });
    await expect(answers).rejects.toMatchObject({ name: 'ExitPromptError' });
  });
});
