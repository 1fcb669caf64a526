"""Task modules the tests serve; workers load them by module path
(``tests.helpers.tasks.<name>``), so a rename here changes those strings too."""
