// Package state turns a stream of classified states into confirmed states and
// the events alerting acts on. It is pure logic: no I/O, no clocks (every
// call carries its time), so it is tested exhaustively and cheaply.
//
// A Machine follows one subject (a host × plugin × check, or a trend rule's
// series):
//
//   - Soft and hard states (Nagios's max check attempts): a new state is
//     confirmed after Policy.Attempts consecutive observations of it; only
//     confirmed changes are events.
//   - Flapping: when the share of changes among the last Policy.FlapWindow
//     observations reaches FlapStart the subject is flapping, and stops when
//     it falls below FlapStop (hysteresis). Flapping raises one event when it
//     starts and one when it stops; the changes in between are recorded as
//     states but are not events, so a flapping check is one alert, not a storm.
//
// Worst rolls the confirmed states of a host's checks up into the host's
// state.
package state
