import { chromium } from 'playwright-core';
const ctx = await chromium.launchPersistentContext(process.env.HOME + '/.config/chromium', { executablePath: '/usr/bin/chromium', headless: true,
  env: { ...process.env, LD_PRELOAD: process.env.CHROME_PRELOAD }, args: ['--headless=new','--no-sandbox','--disable-gpu','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await ctx.newPage();
try { await page.goto('https://127.0.0.1:44330/', { timeout: 30000 }); console.log((await page.content()).slice(0, 3000)); } catch (e) { console.log('ERR', e.message); }
await ctx.close();
