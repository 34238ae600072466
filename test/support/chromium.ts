import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's chromium (never a downloaded browser) driven by playwright-core: headless,
 * with the flags that keep it off this machine's closed network, in a fresh profile
 * that `close()` removes.
 */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchChromium(extraArgs: readonly string[] = []): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'tandem-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: [...FLAGS, ...extraArgs] });
    return {
      context,
      async close() {
        await context.close();
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

/** Logs in at the console's form with the API token and waits for the navigation to show. */
export async function loginToConsole(page: Page, base: string, token: string, deadlineMs = 60_000): Promise<void> {
  await page.goto(`${base}/console`);
  await page.locator('#token').fill(token);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#nav').waitFor({ state: 'visible', timeout: deadlineMs });
}
