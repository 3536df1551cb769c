import { render } from 'preact';
import { App } from './app';
import { installLinkHandler } from './router';
import { initTheme } from './theme';
import './styles.css';

initTheme();
installLinkHandler();
render(<App />, document.getElementById('app')!);
