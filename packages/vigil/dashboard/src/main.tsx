import { render } from 'preact';
import { App } from './app.js';
import { Live } from './live.js';
import 'uplot/dist/uPlot.min.css';
import './style.css';

const live = new Live();
live.start();
const root = document.getElementById('app');
if (root) render(<App live={live} />, root);
