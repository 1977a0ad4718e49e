from setuptools import find_packages, setup

setup(
    name="tactile",
    version="0.1.0",
    description="Accessible PIN pad and fingerprint confirmation driver stack for bank counters",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["protocol*", "drivers*", "firmware_sim*", "tools*"]),
    package_data={"protocol": ["tpp/SPEC.md"], "drivers": ["guidance/locales/*/LC_MESSAGES/*.po"]},
    include_package_data=True,
    install_requires=[
        "pyserial>=3.5",
        "pyusb>=1.2.1",
        "libusb-package>=1.0.26",
        "construct>=2.10.68,<2.11",
        "cryptography>=42",
        "numpy>=1.26",
        "scipy>=1.11",
        "scikit-image>=0.22",
        "Pillow>=10",
        "rich>=13",
        # the shared audit trail of many counters (drivers.confirmation.PostgresStore)
        "psycopg[binary]>=3.1",
        "Babel>=2.12",
        # Mandarin word boundaries for laying out display text (protocol.tpp.display)
        "rjieba>=0.2",
    ],
    extras_require={
        # the third-party EF01 host libraries run unchanged against our simulator in the tests
        "test": ["pytest>=8", "hypothesis>=6.100", "pytest-timeout>=2.2", "pyfingerprint>=1.5",
                 "adafruit-circuitpython-fingerprint>=2.2"],
    },
    entry_points={
        "console_scripts": ["tactile = tools.cli:main"],
        "pytest11": ["tactile_sim = firmware_sim.pytest_plugin"],
    },
)
