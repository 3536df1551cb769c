// Light and dark themes: the system's preference (prefers-color-scheme) unless
// the user picked one with the toggle (kept in localStorage).
import { useEffect, useState } from 'preact/hooks';

export type ThemeChoice = 'auto' | 'light' | 'dark';
const KEY = 'prophasis.theme';
const listeners = new Set<() => void>();
const media = window.matchMedia('(prefers-color-scheme: dark)');

export function themeChoice(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : 'auto';
}

export function effectiveTheme(): 'light' | 'dark' {
  const c = themeChoice();
  if (c !== 'auto') return c;
  return media.matches ? 'dark' : 'light';
}

function apply() {
  document.documentElement.dataset.theme = effectiveTheme();
  listeners.forEach((f) => f());
}

export function setThemeChoice(c: ThemeChoice) {
  if (c === 'auto') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, c);
  apply();
}

export function initTheme() {
  apply();
  media.addEventListener('change', apply);
}

// useTheme re-renders its component when the effective theme changes
// (charts read their colours from CSS variables when they are made).
export function useTheme(): 'light' | 'dark' {
  const [t, setT] = useState(effectiveTheme);
  useEffect(() => {
    const f = () => setT(effectiveTheme());
    listeners.add(f);
    return () => { listeners.delete(f); };
  }, []);
  return t;
}
